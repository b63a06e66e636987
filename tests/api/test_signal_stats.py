from __future__ import annotations

import datetime as dt

import httpx

from tests.factories import post_signal, signal


async def seed(client: httpx.AsyncClient, headers: dict, n: int, **fields) -> None:
    for _ in range(n):
        assert (await post_signal(client, headers, signal(**fields))).status_code == 201


async def test_stats_suppress_small_cells(client: httpx.AsyncClient, themes: None, intake: dict) -> None:
    await seed(client, intake, 6, themes=["bejegening"], provider_agb="11111111", received_date="2026-01-10")
    await seed(
        client, intake, 3, themes=["sociale-veiligheid"], provider_agb="22222222", received_date="2026-02-10"
    )
    r = await client.get("/v1/signals/stats", params={"group_by": "theme"})  # public: no key needed
    assert r.status_code == 200, r.text
    cells = {c["group"]: c for c in r.json()["items"]}
    assert cells["sociale-veiligheid"] == {
        "group": "sociale-veiligheid",
        "count": "<5",
        "suppressed": True,
        "reason": "small",
    }
    # 6 would give the hidden 3 away as the total (9, from group_by=month) minus 6: withheld too.
    assert cells["bejegening"] == {
        "group": "bejegening",
        "count": None,
        "suppressed": True,
        "reason": "complementary",
    }
    providers = {
        c["group"]: c["count"]
        for c in (await client.get("/v1/signals/stats", params={"group_by": "provider"})).json()["items"]
    }
    assert providers == {"11111111": None, "22222222": "<5"}
    # A month series needs no complementary cell: no answer shows its total (every one spans the small month).
    months = {
        c["group"]: c["count"]
        for c in (await client.get("/v1/signals/stats", params={"group_by": "month"})).json()["items"]
    }
    assert months == {"2026-01": 6, "2026-02": "<5"}
    filtered = (
        await client.get(
            "/v1/signals/stats",
            params={
                "group_by": "zorgkantoor",
                "theme": "bejegening",
                "from": "2026-01-15",
                "to": "2026-01-20",
            },
        )
    ).json()
    assert filtered["items"] == [{"group": "5521", "count": 6, "suppressed": False, "reason": None}]
    assert filtered["from"] == "2026-01-01" and filtered["to"] == "2026-01-31"  # whole months
    # Over both months the zorgkantoor's 6 + 3 holds a small month (February): a window without it would tell.
    whole = (await client.get("/v1/signals/stats", params={"group_by": "zorgkantoor"})).json()["items"]
    assert whole == [{"group": "5521", "count": None, "suppressed": True, "reason": "month"}]
    assert (await client.get("/v1/signals/stats", params={"group_by": "colour"})).status_code == 422
    assert (await client.get("/v1/signals/stats", params={"bogus": "1"})).status_code == 422


async def test_trends_flag_a_rise(client: httpx.AsyncClient, themes: None, intake: dict) -> None:
    for month in range(1, 6):
        await seed(client, intake, 5, themes=["bejegening"], received_date=f"2026-0{month}-10")
    await seed(client, intake, 20, themes=["bejegening"], received_date="2026-06-10")
    r = await client.get(
        "/v1/signals/trends", params={"theme": "bejegening", "months": 6, "until": "2026-06-30"}
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert [p["period"] for p in body["periods"]] == [f"2026-0{m}" for m in range(1, 7)]
    assert body["periods"][0]["count"] == 5 and body["last_period"]["count"] == 20
    assert body["rise"]["significant"] is True and body["rise"]["p_value"] < 0.05
    assert abs(body["baseline_rate_per_day"] - 25 / 151) < 1e-4 and body["baseline_suppressed"] is False
    shifted = (
        await client.get(
            "/v1/signals/trends", params={"theme": "bejegening", "months": 6, "until": "2026-06-11"}
        )
    ).json()
    assert shifted == body  # whole months: a day earlier changes nothing
    flat = (
        await client.get(
            "/v1/signals/trends", params={"theme": "bejegening", "months": 6, "until": "2026-05-31"}
        )
    ).json()
    assert flat["rise"]["significant"] is None and flat["periods"][0]["count"] == "<5"  # December 2025
    assert flat["baseline_rate_per_day"] is None and flat["rise"]["p_value"] is None  # would reveal December
    assert flat["rise"]["suppressed"] is True and flat["baseline_suppressed"] is True
    by_provider = (
        await client.get(
            "/v1/signals/trends", params={"provider": "99999999", "months": 3, "until": "2026-06-30"}
        )
    ).json()
    assert all(p["count"] == "<5" for p in by_provider["periods"])


async def test_a_hidden_last_month_withholds_the_test(
    client: httpx.AsyncClient, themes: None, intake: dict
) -> None:
    for month in range(1, 6):
        await seed(client, intake, 5, themes=["bejegening"], received_date=f"2026-0{month}-10")
    await seed(client, intake, 2, themes=["bejegening"], received_date="2026-06-10")
    body = (
        await client.get(
            "/v1/signals/trends", params={"theme": "bejegening", "months": 6, "until": "2026-06-30"}
        )
    ).json()
    assert body["last_period"]["count"] == "<5" and body["baseline_rate_per_day"] == round(25 / 151, 6)
    assert (
        body["rise"]["p_value"] is None and body["rise"]["significant"] is None and body["rise"]["suppressed"]
    )
    assert "2" not in body["rise"]["reason"]


def test_month_periods() -> None:
    from shared.signals.stats import month_periods

    periods = month_periods(dt.date(2026, 3, 15), 3)
    assert periods == [
        (dt.date(2026, 1, 1), dt.date(2026, 1, 31)),
        (dt.date(2026, 2, 1), dt.date(2026, 2, 28)),
        (dt.date(2026, 3, 1), dt.date(2026, 3, 15)),
    ]


async def test_stats_from_monthly_counts_stay_exact(
    client: httpx.AsyncClient, themes: None, intake: dict, session_factory, monkeypatch
) -> None:
    from shared.signals import rollup
    from shared.signals.rollup import refresh

    monkeypatch.setattr(rollup, "MARGIN", dt.timedelta(0))  # no open transactions here to allow for

    await seed(client, intake, 5, themes=["bejegening"], provider_agb="11111111", received_date="2026-01-10")
    await seed(
        client,
        intake,
        5,
        themes=["bejegening", "sociale-veiligheid"],
        provider_agb="22222222",
        received_date="2026-02-20",
    )
    queries = [{"group_by": g} for g in ("theme", "provider", "location", "zorgkantoor", "month")] + [
        {"group_by": "provider", "theme": "bejegening"},
        {"group_by": "month", "theme": "sociale-veiligheid"},
        {"group_by": "provider", "from": "2026-01-15", "to": "2026-02-28"},
        {"group_by": "theme", "from": "2026-01-01", "to": "2026-01-31"},
        {"group_by": "provider", "from": "2026-02-01", "to": "2026-02-19"},
        {"group_by": "provider", "kind": "klacht"},
    ]

    async def answers() -> list:
        return [(await client.get("/v1/signals/stats", params=q)).json()["items"] for q in queries]

    raw = await answers()
    async with session_factory() as s:
        assert await refresh(s) == 2
        await s.commit()
    assert await answers() == raw
    async with session_factory() as s:  # the answers above really came from the counts
        from sqlalchemy import text

        await s.execute(text("UPDATE client_signal_counts SET n = n + 100 WHERE dimension = 'provider'"))
        probe = (await client.get("/v1/signals/stats", params={"group_by": "provider"})).json()["items"]
        assert probe[0]["count"] == 105
        await s.rollback()
    # A signal created after the refresh is counted at once (its month is read from the signals).
    await seed(client, intake, 1, themes=["bejegening"], provider_agb="11111111", received_date="2026-01-11")
    providers = {
        c["group"]: c["count"]
        for c in (await client.get("/v1/signals/stats", params={"group_by": "provider"})).json()["items"]
    }
    assert providers == {"11111111": 6, "22222222": 5}
    async with session_factory() as s:
        await refresh(s)
        await s.commit()
    assert {
        c["group"]: c["count"]
        for c in (await client.get("/v1/signals/stats", params={"group_by": "provider"})).json()["items"]
    } == providers


async def test_theme_and_kind_counted_in_one_scan_equal_two(
    client: httpx.AsyncClient, themes: None, intake: dict, session_factory
) -> None:
    """A kind filter has no monthly counts: the filtered figure and its complement without the theme come from one
    scan of the signals (shared/signals/stats.py `_raw_pair`), equal to counting each on its own."""
    from shared.signals import stats
    from shared.signals.schemas import StatsParams

    await seed(client, intake, 7, themes=["bejegening"], zorgkantoor_code="5521", received_date="2026-01-10")
    await seed(
        client, intake, 6, themes=["sociale-veiligheid"], zorgkantoor_code="5521", received_date="2026-01-12"
    )
    await seed(
        client,
        intake,
        5,
        themes=["bejegening", "sociale-veiligheid"],
        zorgkantoor_code="5522",
        received_date="2026-02-03",
    )
    await seed(
        client,
        intake,
        4,
        themes=["bejegening"],
        kind="signaal",
        zorgkantoor_code="5521",
        received_date="2026-02-04",
    )
    for group_by in ("zorgkantoor", "provider", "location", "month"):
        params = stats.whole_months(StatsParams(group_by=group_by, theme="bejegening", kind="klacht"))
        async with session_factory() as session:
            with_theme, without_theme = await stats._raw_pair(session, params)
            assert with_theme == await stats._raw_counts(session, params, [(params.from_, params.to)])
            bare = params.model_copy(update={"theme": None})
            assert without_theme == await stats._raw_counts(session, bare, [(bare.from_, bare.to)])
    r = (
        await client.get(
            "/v1/signals/stats", params={"group_by": "zorgkantoor", "theme": "bejegening", "kind": "klacht"}
        )
    ).json()
    # 5521: without the kind filter its February differs by the 4 other signals (under 5): withheld
    assert {c["group"]: (c["count"], c["reason"]) for c in r["items"]} == {
        "5521": (None, "filter"),
        "5522": (5, None),
    }
