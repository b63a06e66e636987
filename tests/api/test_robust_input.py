"""Every input that can be sent gets a 2xx or a 4xx problem, never a 500 (issue 10), on both backends:
control characters in every text field and query parameter, dates at the calendar's ends and their
arithmetic, deep and huge JSON, oversized bodies and URLs, and never a BSN echoed back."""

from __future__ import annotations

import json
import uuid

import httpx
import pytest

from tests.factories import create_commitment, post_signal, signal

BSN = "111222333"  # passes the eleven-test


def _problem(r: httpx.Response, status: int) -> dict:
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == "application/problem+json"
    return r.json()


@pytest.mark.parametrize("char", ["\x00", "\x01", "\x1b", "\x7f", "\ud800"])
async def test_control_characters_are_a_422_naming_the_field(
    client: httpx.AsyncClient, writer: dict, admin: dict, make_key, themes: None, char: str
) -> None:
    text = f"voor{char}na"
    cases = [
        ("/v1/commitments", writer, {"title": text}, ["body", "title"]),
        ("/v1/parties", writer, {"name": text, "kind": "provider"}, ["body", "name"]),
        ("/v1/themes", admin, {"key": "nieuw", "label_nl": text, "label_en": "x"}, ["body", "label_nl"]),
    ]
    for path, headers, body, loc in cases:
        # json.dumps writes a lone surrogate as the escape \ud800, as a client's encoder would
        content = json.dumps(body).encode()
        r = await client.post(path, content=content, headers={**headers, "content-type": "application/json"})
        problem = _problem(r, 422)
        assert problem["errors"][0]["loc"] == loc and problem["errors"][0]["type"] == "control_character"
    intake = await make_key(["signals:write"])
    for field in ("summary", "external_id", "location", "client_reference", "source_system"):
        r = await post_signal(client, intake, signal(**{field: "A" + "\x00" + "B"}))
        assert _problem(r, 422)["errors"][0]["loc"] == ["body", field]
    r = await post_signal(client, intake, signal(themes=["bejegening", "a\x00"]))
    assert _problem(r, 422)["errors"][0]["loc"] == ["body", "themes"]


@pytest.mark.parametrize(
    "path", ["/v1/commitments", "/v1/parties", "/v1/recommendations", "/v1/tk/toezeggingen"]
)
async def test_control_characters_in_query_parameters(client: httpx.AsyncClient, path: str) -> None:
    problem = _problem(await client.get(path, params={"q": "zorg\x00"}), 422)
    assert problem["errors"][0]["loc"] == ["query", "q"]
    assert _problem(await client.get(path, params={"cursor": "\x00"}), 422)["errors"][0]["loc"] == [
        "query",
        "cursor",
    ]


async def test_dates_at_both_ends_of_the_calendar(
    client: httpx.AsyncClient, themes: None, make_key, queue
) -> None:
    intake = await make_key(["signals:write"])
    late = await post_signal(client, intake, signal(received_date="9999-12-31", extension_recorded=True))
    assert late.status_code == 201, late.text
    assert late.json()["judgement_due_date"] == "9999-12-31" and late.json()["retention_date"] == "9999-12-31"
    # (asyncpg stores these two as -infinity and infinity on PostgreSQL; they must still count by month)
    early = await post_signal(client, intake, signal(received_date="0001-01-01", occurred_date="0001-01-01"))
    assert early.status_code == 201, early.text
    reader = await make_key(["read"])
    for _refreshed in (False, True):  # raw counts, then with the monthly rollup holding December 9999
        for params in (
            {"to": "9999-12-30"},
            {"from": "9999-12-31"},
            {"from": "0001-01-01", "to": "9999-12-31"},
            {"to": "0001-01-01"},
            {"group_by": "month"},
            {"from": "9999-12-01", "to": "9999-12-31"},
        ):
            r = await client.get("/v1/signals/stats", params=params, headers=reader)
            assert r.status_code == 200, (params, r.text)
        await queue.enqueue("signals.refresh_counts")
        await queue.drain()
    total = (await client.get("/v1/signals/stats", params={"group_by": "month"}, headers=reader)).json()
    assert [c["group"] for c in total["items"]] == ["0001-01", "9999-12"]
    for until in ("9999-12-31", "0001-12-31"):
        assert (
            await client.get("/v1/signals/trends", params={"until": until}, headers=reader)
        ).status_code == 200
    _problem(await client.get("/v1/signals/trends", params={"until": "0001-01-01"}, headers=reader), 422)
    _problem(
        await client.get("/v1/signals/trends", params={"until": "0001-06-30", "months": 12}, headers=reader),
        422,
    )


async def test_dates_are_iso_days_not_numbers(client: httpx.AsyncClient, writer: dict, make_key) -> None:
    reader = await make_key(["read"])
    for value in ("0", "1700000000", "2026-1-1", "20260101"):
        problem = _problem(await client.get("/v1/signals/stats", params={"to": value}, headers=reader), 422)
        assert problem["errors"][0]["type"] == "date_format"
    problem = _problem(
        await client.post("/v1/commitments", json={"title": "x", "due_date": 0}, headers=writer), 422
    )
    assert problem["errors"][0]["loc"] == ["body", "due_date"]
    assert (
        await client.post("/v1/commitments", json={"title": "x", "due_date": "9999-12-31"}, headers=writer)
    ).status_code == 201
    assert (await client.get("/v1/commitments", params={"due_before": "0001-01-01"})).status_code == 200


async def test_deep_and_huge_json(client: httpx.AsyncClient, writer: dict) -> None:
    for depth in (100, 5000, 100_000):
        body = b'{"title": ' + b"[" * depth + b"]" * depth + b"}"
        r = await client.post(
            "/v1/commitments", content=body, headers={**writer, "content-type": "application/json"}
        )
        assert r.status_code in (400, 422), (depth, r.status_code)
    for number in (b"1" * 5000, b"1e400", b"-1e400", b"123456789012345678901234567890"):
        body = b'{"title": "x", "due_date": ' + number + b"}"
        r = await client.post(
            "/v1/commitments", content=body, headers={**writer, "content-type": "application/json"}
        )
        assert r.status_code in (400, 422), (number[:10], r.status_code)
    r = await client.get("/v1/commitments", params={"limit": "9" * 5000})
    _problem(r, 422)


async def test_body_and_url_limits(client: httpx.AsyncClient, writer: dict, app) -> None:
    limit = app.state.settings.max_body_bytes
    big = b'{"title": "' + b"x" * limit + b'"}'
    problem = _problem(
        await client.post(
            "/v1/commitments", content=big, headers={**writer, "content-type": "application/json"}
        ),
        413,
    )
    assert problem["type"].endswith("/too-large")

    async def streamed():  # no Content-Length: counted as it arrives
        yield b'{"title": "'
        for _ in range(limit // 65536 + 2):
            yield b"x" * 65536
        yield b'"}'

    _problem(
        await client.post(
            "/v1/commitments", content=streamed(), headers={**writer, "content-type": "application/json"}
        ),
        413,
    )
    _problem(await client.get("/v1/commitments", params={"q": "z" * 9000}), 414)
    # A write without credentials is a 401 before its body is even parsed.
    r = await client.post(
        "/v1/commitments", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert _problem(r, 401)["type"].endswith("/unauthorized")
    r = await client.post(
        "/v1/commitments", content=b"{not json", headers={**writer, "content-type": "application/json"}
    )
    _problem(r, 400)


async def test_field_errors_are_capped_and_never_echo_a_bsn(
    client: httpx.AsyncClient, writer: dict, make_key, themes: None, app
) -> None:
    cap = app.state.settings.max_field_errors
    small = {"title": "x", **{f"extra{i}": 1 for i in range(500)}}  # validated on the loop
    problem = _problem(await client.post("/v1/commitments", json=small, headers=writer), 422)
    assert len(problem["errors"]) == cap and problem["errors_omitted"] == 500 - cap
    large = {"title": "x", **{f"extra{i}": "y" * 20 for i in range(20_000)}}  # over the offload size
    problem = _problem(await client.post("/v1/commitments", json=large, headers=writer), 422)
    assert len(problem["errors"]) == cap and problem["errors_omitted"] == 20_000 - cap
    intake = await make_key(["signals:write"])
    many = signal(summary=" ".join([BSN] * 50_000))  # ~500 KB of BSNs: screened off the loop
    r = await post_signal(client, intake, many)
    problem = _problem(r, 422)
    assert len(problem["errors"]) == cap and problem["errors_omitted"] > 0 and BSN not in r.text
    # A field *named* like a BSN is refused without being named back.
    for body in ({**signal(), BSN: "x"}, {"title": "x", BSN: 1}):
        path = "/v1/signals" if "kind" in body else "/v1/commitments"
        r = await client.post(
            path,
            json=body,
            headers={**(intake if "kind" in body else writer), "Idempotency-Key": uuid.uuid4().hex},
        )
        assert r.status_code == 422 and BSN not in r.text, r.text


async def test_unknown_theme_is_not_echoed(client: httpx.AsyncClient, themes: None, make_key) -> None:
    intake = await make_key(["signals:write"])
    r = await post_signal(client, intake, signal(themes=[BSN]))
    assert r.status_code == 422 and BSN not in r.text


async def test_patch_and_reads_with_control_characters(client: httpx.AsyncClient, writer: dict) -> None:
    c = await create_commitment(client, writer)
    r = await client.patch(f"/v1/commitments/{c['id']}", json={"description": "a\x00b"}, headers=writer)
    assert _problem(r, 422)["errors"][0]["loc"] == ["body", "description"]
    for path in ("/v1/themes/a%00b", "/v1/tk/toezeggingen/a%00b", "/v1/commitments/a%00b"):
        assert (await client.get(path)).status_code in (404, 422), path
