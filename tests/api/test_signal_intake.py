"""Single-signal intake: the same contracts on the raw one-statement path (PostgreSQL) and the session path
(SQLite): response equal to a later GET, jobs after commit only, stored responses, failures leave nothing."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from shared.audit.models import AuditEntry
from shared.commitments.events import RECALCULATE_JOB
from shared.idempotency.models import IdempotencyRecord
from shared.signals.models import ClientSignal, client_signal_commitments, client_signal_themes
from tests.factories import create_commitment, create_party, post_signal, signal


async def test_created_body_equals_get_and_replay(
    client: httpx.AsyncClient, themes: None, intake: dict, make_key, admin: dict
) -> None:
    provider = await create_party(client, admin, name="Fokus", kind="provider", agb_code="12345678")
    body = signal(
        themes=["sociale-veiligheid", "bejegening"], client_reference="CL-1", occurred_date="2026-01-30"
    )
    created = await post_signal(client, intake, body, key="same-body")
    assert created.status_code == 201, created.text
    out = created.json()
    assert out["provider_party_id"] == provider["id"]  # resolved in the same statement
    assert out["themes"] == ["bejegening", "sociale-veiligheid"]
    staff = await make_key(["signals:read"])
    got = await client.get(f"/v1/signals/{out['id']}", headers=staff)
    assert got.status_code == 200
    assert {k: v for k, v in got.json().items() if k not in ("created_at", "updated_at", "etag")} == {
        k: v for k, v in out.items() if k not in ("created_at", "updated_at", "etag")
    }
    replay = await post_signal(client, intake, body, key="same-body")
    assert replay.status_code == 201 and replay.content == created.content
    assert replay.headers["location"] == created.headers["location"] == f"/v1/signals/{out['id']}"


async def test_signal_without_provider_party(client: httpx.AsyncClient, themes: None, intake: dict) -> None:
    out = (await post_signal(client, intake, signal(provider_agb="87654321"))).json()
    assert out["provider_party_id"] is None
    none = (await post_signal(client, intake, signal(provider_agb=None))).json()
    assert none["provider_party_id"] is None and none["provider_agb"] is None


async def test_commitment_links_enqueue_recalculation_after_commit(
    client: httpx.AsyncClient, themes: None, intake: dict, admin: dict, queue: Any, session_factory: Any
) -> None:
    commitment = await create_commitment(client, admin)
    await queue.drain()
    seen: list[str] = []

    async def record(ctx: dict, commitment_id: str) -> None:
        seen.append(commitment_id)

    queue.functions[RECALCULATE_JOB] = record
    body = signal(commitment_ids=[commitment["id"]])
    r = await post_signal(client, intake, body)
    assert r.status_code == 201 and r.json()["commitment_ids"] == [commitment["id"]]
    await queue.drain()
    assert seen == [commitment["id"]]
    async with session_factory() as s:
        links = (
            (
                await s.execute(
                    select(client_signal_commitments.c.commitment_id).where(
                        client_signal_commitments.c.signal_id == uuid.UUID(r.json()["id"])
                    )
                )
            )
            .scalars()
            .all()
        )
    assert [str(c) for c in links] == [commitment["id"]]
    # A failed write (duplicate natural key) enqueues nothing.
    seen.clear()
    assert (await post_signal(client, intake, body)).status_code == 409
    await queue.drain()
    assert seen == []


async def test_failures_leave_nothing_behind(
    client: httpx.AsyncClient, themes: None, intake: dict, session_factory: Any
) -> None:
    async def counts() -> tuple[int, ...]:
        async with session_factory() as s:
            return tuple(
                [
                    (await s.execute(select(func.count()).select_from(t))).scalar_one()
                    for t in (
                        ClientSignal.__table__,
                        client_signal_themes,
                        IdempotencyRecord.__table__,
                        AuditEntry.__table__,
                    )
                ]
            )

    first = signal()
    assert (await post_signal(client, intake, first)).status_code == 201
    before = await counts()
    r = await post_signal(
        client, intake, signal(themes=["bejegening", "bestaat-niet", "ook-niet"]), key="bad"
    )
    assert r.status_code == 422
    assert [e["loc"] for e in r.json()["errors"]] == [["body", "themes", 1], ["body", "themes", 2]]
    r = await post_signal(client, intake, signal(commitment_ids=[str(uuid.uuid4())]), key="bad-2")
    assert r.status_code == 422 and r.json()["errors"][0]["loc"] == ["body", "commitment_ids", 0]
    r = await post_signal(client, intake, first, key="dup")
    assert r.status_code == 409 and r.json()["type"].endswith("/duplicate")
    assert await counts() == before  # no signal, link, key or audit entry of the failed requests
    # Each released key is free for a good request.
    for key in ("bad", "bad-2", "dup"):
        assert (await post_signal(client, intake, signal(), key=key)).status_code == 201


@pytest.mark.postgres_only
async def test_raw_path_answers_as_the_session_path(
    client: httpx.AsyncClient,
    themes: None,
    intake: dict,
    admin: dict,
    settings: Any,
    connection: Any,
    session_factory: Any,
    queue: Any,
) -> None:
    from asgi_lifespan import LifespanManager

    from services.api.app import create_app

    await create_party(client, admin, name="Fokus", kind="provider", agb_code="12345678")
    commitment = await create_commitment(client, admin)
    session_app = create_app(
        settings.model_copy(update={"fast_path": False}),
        engine=connection.engine,
        session_factory=session_factory,
        queue=queue,
    )
    ignore = {"id", "external_id", "created_at", "updated_at"}
    async with LifespanManager(session_app):
        assert session_app.state.raw_db is None
        transport = httpx.ASGITransport(app=session_app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as session_client:
            for overrides in (
                {},
                {
                    "client_reference": "CL-7",
                    "extension_recorded": True,
                    "kind": "klacht",
                    "commitment_ids": [commitment["id"]],
                    "themes": ["sociale-veiligheid", "bejegening"],
                },
                {
                    "kind": "incident",
                    "provider_agb": None,
                    "occurred_date": "2026-01-01",
                    "summary": "Tekst met \"aanhalingstekens\" en ✓",
                    "retention_date": "2027-01-01",
                },
            ):
                raw = await post_signal(client, intake, signal(**overrides))
                via_session = await post_signal(session_client, intake, signal(**overrides))
                assert raw.status_code == via_session.status_code == 201
                assert {k: v for k, v in raw.json().items() if k not in ignore} == {
                    k: v for k, v in via_session.json().items() if k not in ignore
                }
                assert list(raw.json()) == list(via_session.json())  # same field order
