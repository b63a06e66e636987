"""Rendering of every board view on the seed dataset: badges, reasons, links that resolve, charts,
suppression."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from services.api.board import views
from services.api.board.i18n import ICONS, STATUS_ORDER, WORDS
from shared.status.inputs import MeasurementInput, MilestoneInput
from shared.status.rules import projected_value
from tests.board.pages import FOKUS_ZZP, VL_SOURCE, VWS_REACTIE, by_key, html, text
from tests.factories import create, create_milestone, post_signal, signal

pytestmark = pytest.mark.usefixtures("seeded")


async def all_items(client: httpx.AsyncClient, path: str, **params: Any) -> list[dict[str, Any]]:
    items, cursor = [], None
    while True:
        page = (
            await client.get(path, params={"limit": 500, **params, **({"cursor": cursor} if cursor else {})})
        ).json()
        items += page["items"]
        cursor = page["next_cursor"]
        if not cursor:
            return items


async def assert_links_resolve(
    client: httpx.AsyncClient, doc: Any, headers: dict[str, str] | None = None
) -> int:
    """Every link on the page into the board or the API answers 200, and every #fragment names an element."""
    checked = 0
    for href in sorted({a.get("href") for a in doc.iter("a")}):
        parts = urlsplit(href)
        if not parts.path.startswith(("/board", "/v1")):
            continue
        target = parts.path + (f"?{parts.query}" if parts.query else "")
        response = await client.get(target, headers=headers or {})
        assert response.status_code == 200, (href, response.status_code)
        if parts.fragment:
            assert f'id="{parts.fragment}"' in response.text, href
        checked += 1
    return checked


def badge_words(node: Any) -> list[tuple[str, str]]:
    """(icon, word) of each badge: the icon is hidden from screen readers, the word is text."""
    out = []
    for badge in node.find_class("badge"):
        icon = badge.find_class("icon")[0]
        assert icon.get("aria-hidden") == "true"
        out.append((icon.text_content(), text(badge).replace(icon.text_content(), "", 1).strip()))
    return out


async def test_overview_counts_list_worst_first_and_reasons(
    client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(views, "LIST_SIZE", 10)  # fewer commitment pages to follow
    doc = await html(client, "/board")
    assert doc.get("lang") == "nl"
    assert [h.tag for h in doc.iter("h1")] == ["h1"]
    assert doc.find(".//main") is not None and doc.find(".//nav").get("aria-label")
    commitments = await all_items(client, "/v1/commitments")
    for status in STATUS_ORDER:
        row = doc.find_class(f"count-status-{status}")[0]
        expected = sum(1 for c in commitments if c["status"] == status)
        assert int(text(row.find(".//td"))) == expected, status
    for schedule in ("overdue", "due_soon", "on_time", "no_deadline"):
        row = doc.find_class(f"count-schedule-{schedule}")[0]
        assert int(text(row.find(".//td"))) == sum(1 for c in commitments if c["schedule"] == schedule)
    assert text(doc.get_element_by_id("counts-h")) == f"{len(commitments)} toezeggingen"
    items = doc.find_class("commitment")
    assert len(items) == min(len(commitments), views.LIST_SIZE)
    ranks = [STATUS_ORDER.index(li.get("data-status")) for li in items]
    assert ranks == sorted(ranks) and ranks[0] == 0  # the seed has commitments off track: they come first
    by_id = {c["id"]: c for c in commitments}
    for li in items:
        cid = li.find(".//h3/a").get("href").rsplit("/", 1)[1]
        api = by_id[cid]
        (icon, word), (sicon, sword) = badge_words(li)
        assert (icon, word) == (ICONS[api["status"]], WORDS[f"status.{api['status']}"]["nl"])
        assert (sicon, sword) == (ICONS[api["schedule"]], WORDS[f"schedule.{api['schedule']}"]["nl"])
        assert api["reasons"][0]["message"] in text(li.find_class("first-reason")[0])
    assert await assert_links_resolve(client, doc) > len(items)


async def test_overview_filters_match_the_api_and_refuse_bad_input(client: httpx.AsyncClient) -> None:
    fokus = await by_key(client, "/v1/parties", "fokus")
    source = await by_key(client, "/v1/sources", "tk-2026d07126")
    doc = await html(
        client, "/board", params={"owner": fokus["id"], "source": source["id"], "theme": "inzet-zzp-flex"}
    )
    expected = await all_items(
        client, "/v1/commitments", owner_party_id=fokus["id"], source_id=source["id"], theme="inzet-zzp-flex"
    )
    assert expected
    shown = {li.find(".//h3/a").get("href").rsplit("/", 1)[1] for li in doc.find_class("commitment")}
    assert shown == {c["id"] for c in expected}
    assert sum(int(text(doc.find_class(f"count-status-{s}")[0].find(".//td"))) for s in STATUS_ORDER) == len(
        expected
    )
    assert doc.get_element_by_id("f-owner").xpath("option[@selected]")[0].get("value") == fokus["id"]
    due = await html(client, "/board", params={"due_after": "2026-01-01", "due_before": "2026-12-31"})
    windowed = await all_items(client, "/v1/commitments", due_after="2026-01-01", due_before="2026-12-31")
    assert len(due.find_class("commitment")) == len(windowed)
    bad = await client.get("/board", params={"due_after": "1-2-2026x"})
    assert bad.status_code == 422 and "due_after" in bad.text and "1-2-2026x" not in bad.text
    torn = await client.get("/board", params={"after": "off_track:torn-cursor"})  # the API's 400
    assert torn.status_code == 422 and "cursor" in torn.text and "torn-cursor" not in torn.text


async def test_overview_pages_through_every_commitment_once_worst_first(
    client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(views, "LIST_SIZE", 4)
    seen: list[tuple[int, str]] = []
    url: str | None = "/board"
    while url:
        doc = await html(client, url)
        seen += [
            (STATUS_ORDER.index(li.get("data-status")), li.find(".//h3/a").get("href"))
            for li in doc.find_class("commitment")
        ]
        nxt = doc.xpath("//a[@rel='next']")
        url = nxt[0].get("href") if nxt else None
    ids = [href for _, href in seen]
    assert len(ids) == len(set(ids)) == len(await all_items(client, "/v1/commitments"))
    assert [rank for rank, _ in seen] == sorted(rank for rank, _ in seen)


async def test_english_page_and_explanations(client: httpx.AsyncClient) -> None:
    zzp = await by_key(client, "/v1/commitments", FOKUS_ZZP)
    doc = await html(client, "/board", params={"lang": "en", "status": "off_track"})
    assert doc.get("lang") == "en"
    assert text(doc.find(".//h1")) == "Overview of commitments"
    assert all(
        a.get("href").find("lang=en") > 0 for a in doc.xpath("//main//a[starts-with(@href, '/board')]")
    )
    page = await html(client, f"/board/commitments/{zzp['id']}", params={"lang": "en"})
    english = (await client.get(f"/v1/commitments/{zzp['id']}", headers={"Accept-Language": "en"})).json()
    body = text(page)
    assert all(r["message"] in body for r in english["reasons"])
    assert "The due date 1 July 2026 has passed" in body
    switch = page.xpath("//p[@class='language']/a")[0]
    assert switch.get("hreflang") == "nl" and "lang=" not in switch.get("href")


async def test_commitment_page_reasons_evidence_source_history_and_chart(
    client: httpx.AsyncClient, writer: dict[str, str]
) -> None:
    zzp = await by_key(client, "/v1/commitments", FOKUS_ZZP)
    # A numeric milestone with a dated baseline and three measurements: the chart shows all of it.
    today = dt.datetime.now(dt.UTC).date()
    due = today + dt.timedelta(days=120)
    ms = await create_milestone(
        client,
        writer,
        zzp["id"],
        title="Aandeel in loondienst",
        due_date=due.isoformat(),
        indicator={
            "unit": "procent",
            "baseline_value": 40,
            "target_value": 100,
            "baseline_date": (today - dt.timedelta(days=200)).isoformat(),
        },
    )
    values = [(150, 48.0), (90, 55.5), (30, 61.0)]
    for days, value in values:
        await create(
            client,
            f"/v1/milestones/{ms['id']}/measurements",
            writer,
            date=(today - dt.timedelta(days=days)).isoformat(),
            value=value,
        )
    await client.post(f"/v1/commitments/{zzp['id']}/recalculate", headers=writer)
    api = (await client.get(f"/v1/commitments/{zzp['id']}")).json()
    doc = await html(client, f"/board/commitments/{zzp['id']}")
    body = text(doc)
    assert next(h.tag for h in doc.xpath("//main//*[self::h1 or self::h2 or self::h3]")) == "h1"
    status = doc.get_element_by_id("status-h").getparent()
    assert badge_words(status)[0] == (ICONS[api["status"]], WORDS[f"status.{api['status']}"]["nl"])
    reasons = doc.find_class("reason")
    assert len(reasons) == len(api["reasons"])
    for li, reason in zip(reasons, api["reasons"]):
        assert reason["message"] in text(li)
        assert {a.get("href") for a in li.xpath(".//a[@class='api']")} == {
            e["path"] for e in reason["evidence"]
        }
    assert zzp["source_quote"] in body and zzp["source_section"] in body
    history = (await client.get(f"/v1/commitments/{zzp['id']}/status-history")).json()["items"]
    assert len(doc.xpath("//ol[@class='timeline']/li")) == len(history) >= 2
    charts = doc.xpath("//article[@id=$id]//*[local-name()='svg']", id=f"milestone-{ms['id']}")
    assert len(charts) == 1
    svg = charts[0]
    assert svg.get("role") == "img" and svg.xpath("./*[local-name()='title']")[0].text_content()
    assert len(svg.xpath(".//*[local-name()='circle'][contains(@class, 'measurement')]")) == len(values)
    assert len(svg.xpath(".//*[local-name()='polyline'][contains(@class, 'plan')]")) == 1
    trend = svg.xpath(".//*[local-name()='polyline'][contains(@class, 'trend')]")
    assert len(trend) == 1 and len(svg.xpath(".//*[local-name()='path'][contains(@class, 'target')]")) == 1
    assert {g.get("class") for g in svg.xpath(".//*[local-name()='g'][contains(@class, 'marker')]")} == {
        "marker due",
        "marker today",
    }
    # The chart's description states the status engine's own projection.
    model = MilestoneInput(
        id=ms["id"],
        title="",
        due_date=due,
        target_value=100,
        baseline_value=40,
        baseline_date=today - dt.timedelta(days=200),
        measurements=tuple(MeasurementInput(today - dt.timedelta(days=d), v) for d, v in values),
    )
    projected = projected_value(model, list(model.measurements))
    assert projected is not None
    desc = svg.xpath("./*[local-name()='desc']")[0].text_content()
    assert f"{projected:.2f}".rstrip("0").replace(".", ",") in desc
    table = doc.xpath("//article[@id=$id]//table[@class='measurements']/tbody/tr", id=f"milestone-{ms['id']}")
    assert len(table) == len(values)
    assert await assert_links_resolve(client, doc) >= len(api["reasons"])


async def test_tk_link_letter_on_the_commitment_and_the_tk_page(client: httpx.AsyncClient) -> None:
    vws = await by_key(client, "/v1/commitments", VWS_REACTIE)
    tz = (await client.get(f"/v1/tk/toezeggingen/{vws['tk_toezegging_nummer']}")).json()
    doc = await html(client, f"/board/commitments/{vws['id']}")
    section = text(doc.get_element_by_id("tk"))
    assert tz["nummer"] in section and tz["status"] in section and tz["kamerbrief_nakoming"] in section
    tk = await html(client, "/board/tk")
    followed = tk.get_element_by_id(f"tz-{tz['nummer']}")
    assert followed.xpath(".//a")[0].get("href") == f"/board/commitments/{vws['id']}"
    suggestions = await all_items(client, "/v1/tk/suggestions")
    assert len(tk.xpath("//ul[@class='suggestions']/li")) == len(suggestions)
    for s in suggestions:
        assert s["nummer"] in text(tk.get_element_by_id(f"tz-{s['nummer']}"))
    assert await assert_links_resolve(client, tk) >= 1


async def test_milestone_page_with_a_measurement(client: httpx.AsyncClient) -> None:
    cots = await by_key(client, "/v1/milestones", "vl-alle-14-cots-gestart")
    doc = await html(client, f"/board/milestones/{cots['id']}")
    assert text(doc.find(".//h1")) == cots["title"]
    svg = doc.xpath("//*[local-name()='svg']")[0]
    assert len(svg.xpath(".//*[local-name()='circle']")) == len(cots["measurements"]) == 1
    for m in cots["measurements"]:
        assert doc.get_element_by_id(f"measurement-{m['id']}") is not None
    assert all(r["message"] in text(doc) for r in cots["reasons"])
    assert await assert_links_resolve(client, doc) >= 2


async def test_programme_page_shows_every_milestone_of_the_source(client: httpx.AsyncClient) -> None:
    source = await by_key(client, "/v1/sources", VL_SOURCE)
    listing = await html(client, "/board/programmes")
    assert listing.xpath("//a[@href=$h]", h=f"/board/programmes/{source['id']}")
    milestones = [m for m in await all_items(client, "/v1/milestones") if m["source_id"] == source["id"]]
    doc = await html(client, f"/board/programmes/{source['id']}")
    articles = doc.xpath("//article[contains(@class, 'milestone')]")
    assert len(articles) == len(milestones) > 10
    numeric = [m for m in milestones if m["indicator"]]
    assert len(doc.xpath("//*[local-name()='svg']")) == len(numeric)
    for m in milestones:
        article = doc.get_element_by_id(f"ms-{m['id']}").getparent()
        assert badge_words(article)[0][1] == WORDS[f"milestone.{m['status']}"]["nl"]
    assert await assert_links_resolve(client, doc) > len(milestones)
    assert (await client.get(f"/board/programmes/{uuid.uuid4()}")).status_code == 404


async def test_signal_trend_chart_suppresses_small_months(client: httpx.AsyncClient, make_key: Any) -> None:
    intake = await make_key(["signals:write"])
    today = dt.datetime.now(dt.UTC).date()
    busy = (today.replace(day=1) - dt.timedelta(days=40)).replace(day=10)  # two months back
    quiet = (today.replace(day=1) - dt.timedelta(days=5)).replace(day=10)  # last month
    for day, n in ((busy, 7), (quiet, 2)):
        for _ in range(n):
            r = await post_signal(
                client, intake, signal(themes=["bejegening"], received_date=day.isoformat())
            )
            assert r.status_code == 201, r.text
    doc = await html(client, "/board/signals", params={"theme": "bejegening"})
    svg = doc.xpath("//*[local-name()='svg']")[0]
    bars = svg.xpath(".//*[local-name()='g'][contains(@class, 'bar')]")
    assert len(bars) == 12
    shown = [text(b.xpath(".//*[contains(@class, 'value')]")[0]) for b in bars]
    assert shown.count("7") == 1 and shown.count("<5") == 11 and "2" not in shown
    assert len(svg.xpath(".//*[local-name()='g'][contains(@class, 'suppressed')]")) == 11
    rows = doc.xpath("//table[@class='periods']/tbody/tr")
    assert len(rows) == 12 and len(doc.xpath("//tr[@class='suppressed']")) == 11
    assert "Oordeel van de stijgingstoets" in text(doc) and text(doc.find_class("verdict")[0])
    assert (await client.get("/board/signals", params={"provider": "12"})).status_code == 422


async def test_unknown_records_are_404_pages(client: httpx.AsyncClient) -> None:
    for url in (
        f"/board/commitments/{uuid.uuid4()}",
        "/board/commitments/not-a-uuid",
        f"/board/milestones/{uuid.uuid4()}",
    ):
        doc = await html(client, url, 404)
        assert doc.get("lang") == "nl" and doc.find(".//h1") is not None


async def test_signal_page_counts_against_the_callers_rate_limit(client: httpx.AsyncClient, app: Any) -> None:
    """The trend is read as /v1/signals/trends reads it, rate limit included: one budget per caller."""
    limiter = app.state.rate_limiter
    limiter.prefix, limiter.per_minute = f"test-board-rl-{uuid.uuid4().hex}", 2
    assert (await client.get("/board/signals")).status_code == 200
    assert (await client.get("/v1/signals/trends")).status_code == 200
    refused = await client.get("/board/signals")
    assert refused.status_code == 429 and int(refused.headers["retry-after"]) >= 1
