"""GET /metrics: admin only, Prometheus' text format, requests per route template and status class, the pool,
commitments per status and TK sync lag computed when scraped; and the same figures on NAKOMING_METRICS_PORT."""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid

import httpx
from asgi_lifespan import LifespanManager
from prometheus_client.parser import text_string_to_metric_families

from services.api.app import create_app
from shared.tk.models import TkSyncState, TkToezegging
from tests.factories import create_commitment
from tests.services.real import free_port


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def value(text: str, name: str, **labels: str) -> float | None:
    return samples(text).get((name, tuple(sorted(labels.items()))))


async def test_metrics_need_an_admin_key(client: httpx.AsyncClient, writer: dict[str, str]) -> None:
    assert (await client.get("/metrics")).status_code == 401
    r = await client.get("/metrics", headers=writer)
    assert r.status_code == 403 and r.headers["content-type"].startswith("application/problem+json")


async def test_requests_are_counted_per_route_template(
    client: httpx.AsyncClient, writer: dict[str, str], admin: dict[str, str]
) -> None:
    before = (await client.get("/metrics", headers=admin)).text
    name = "nakoming_http_request_duration_seconds_count"
    route = {"method": "GET", "route": "/v1/commitments/{id}"}
    created = await create_commitment(client, writer, title="Gemeten toezegging")
    assert (await client.get(f"/v1/commitments/{created['id']}")).status_code == 200
    assert (await client.get(f"/v1/commitments/{uuid.uuid4()}")).status_code == 404
    assert (await client.get("/no/such/path/" + "x" * 20)).status_code == 404
    r = await client.get("/metrics", headers=admin)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain; version=0.0.4")
    after = r.text
    for status, n in (("2xx", 1), ("4xx", 1)):
        old = value(before, name, **route, status=status) or 0
        assert value(after, name, **route, status=status) == old + n
    # unknown paths share one series; no raw path or id becomes a label
    assert (value(after, name, method="GET", route="unmatched", status="4xx") or 0) >= 1
    assert created["id"] not in after and "/no/such/path" not in after


async def test_database_figures_are_read_when_scraped(
    client: httpx.AsyncClient, writer: dict[str, str], admin: dict[str, str], session_factory
) -> None:
    app = client._transport.app  # type: ignore[attr-defined]
    app.state.database_figures.max_age = 0  # no caching in this test: each scrape reads again
    first = (await client.get("/metrics", headers=admin)).text
    opened = value(first, "nakoming_commitments", status="open") or 0
    await create_commitment(client, writer, title="Nog een toezegging")
    now = dt.datetime.now(dt.UTC)
    async with session_factory() as session:
        session.add(
            TkSyncState(
                category="Toezegging",
                skiptoken=5,
                last_success_at=now - dt.timedelta(minutes=10),
                pages=3,
                updated_at=now - dt.timedelta(minutes=4),
            )
        )
        # a failed run recorded last: its time is no page's
        session.add(
            TkSyncState(
                category="Zaak",
                skiptoken=9,
                pages=2,
                last_success_at=now - dt.timedelta(hours=1),
                last_error_at=now - dt.timedelta(minutes=1),
                updated_at=now - dt.timedelta(minutes=1),
            )
        )
        session.add(TkToezegging(id=uuid.uuid4(), bijgewerkt=now - dt.timedelta(hours=2), nummer="TZ1"))
        await session.commit()
    text = (await client.get("/metrics", headers=admin)).text
    assert value(text, "nakoming_commitments", status="open") == opened + 1
    assert value(text, "nakoming_commitments", status="lapsed") is not None  # every status, 0 included
    success = value(text, "nakoming_tk_sync_last_success_age_seconds", category="Toezegging")
    newest = value(text, "nakoming_tk_sync_newest_bijgewerkt_age_seconds", category="Toezegging")
    assert success is not None and 590 <= success <= 700
    assert newest is not None and 7190 <= newest <= 7300
    page = value(text, "nakoming_tk_sync_last_page_age_seconds", category="Toezegging")
    assert page is not None and 230 <= page <= 330
    zaak_page = value(text, "nakoming_tk_sync_last_page_age_seconds", category="Zaak")
    assert zaak_page is not None and 3590 <= zaak_page <= 3700
    assert (
        value(text, "nakoming_tk_sync_last_success_age_seconds", category="Activiteit") is None
    )  # never synced
    assert (value(text, "nakoming_db_pool_size") or 0) >= 0
    assert value(text, "nakoming_db_pool_connections_in_use") is not None


async def test_cached_figures_are_reused_for_a_few_seconds(
    client: httpx.AsyncClient, writer: dict[str, str], admin: dict[str, str]
) -> None:
    app = client._transport.app  # type: ignore[attr-defined]
    app.state.database_figures.max_age = 3600
    first = value((await client.get("/metrics", headers=admin)).text, "nakoming_commitments", status="open")
    await create_commitment(client, writer, title="Binnen de cache")
    again = value((await client.get("/metrics", headers=admin)).text, "nakoming_commitments", status="open")
    assert again == first  # within max_age: no new query
    app.state.database_figures.max_age = 0
    fresh = value((await client.get("/metrics", headers=admin)).text, "nakoming_commitments", status="open")
    assert fresh == (first or 0) + 1


async def test_the_metrics_port_serves_without_a_key(settings, connection, session_factory, queue) -> None:
    port = free_port()
    app = create_app(
        settings.model_copy(update={"metrics_port": port, "metrics_cache_seconds": 0}),
        engine=connection.engine,
        session_factory=session_factory,
        queue=queue,
    )
    async with LifespanManager(app), httpx.AsyncClient() as http:
        # prometheus-client answers from its own thread; the database figures are computed on this loop
        r = await http.get(f"http://127.0.0.1:{port}/metrics")
        assert r.status_code == 200, r.text
        assert value(r.text, "nakoming_commitments", status="open") is not None
        assert "nakoming_http_request_duration_seconds" in r.text
    await asyncio.sleep(0)
    async with httpx.AsyncClient() as http:  # the lifespan's end closed the port
        try:
            await http.get(f"http://127.0.0.1:{port}/metrics", timeout=1)
            closed = False
        except httpx.HTTPError:
            closed = True
    assert closed


async def test_pool_gauges_follow_checkouts(tmp_path) -> None:
    from prometheus_client import REGISTRY

    from shared.db import create_engine
    from shared.metrics import track_pool

    def in_use() -> float | None:
        return REGISTRY.get_sample_value("nakoming_db_pool_connections_in_use")

    def size() -> float | None:
        return REGISTRY.get_sample_value("nakoming_db_pool_size")

    engine = create_engine(f"sqlite+aiosqlite:///{tmp_path / 'pool.db'}")
    before_use, before_size = in_use(), size()
    untrack = track_pool(engine)
    try:
        assert size() == before_size + engine.sync_engine.pool.size()
        async with engine.connect(), engine.connect():
            assert in_use() == before_use + 2
        assert in_use() == before_use
    finally:
        untrack()
        await engine.dispose()
    assert size() == before_size
