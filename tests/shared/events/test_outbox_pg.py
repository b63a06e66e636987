"""The outbox on real PostgreSQL transactions (committed, concurrent, killed), outside the per-test rollback."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import delete, select, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from shared.commitments.models import Commitment
from shared.commitments.service import CommitmentService
from shared.db import create_session_factory
from shared.events.models import Event
from shared.events.repository import START, EventRepository, Position
from shared.events.service import EventType, NewEvent, emit

pytestmark = pytest.mark.postgres_only


@pytest.fixture
async def factory(engine: AsyncEngine) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    """Sessions that really commit; what they wrote is removed afterwards."""
    made = create_session_factory(engine)
    yield made
    async with made() as s:
        await s.execute(delete(Event).where(Event.subject.like("/test/%")))
        await s.execute(delete(Commitment).where(Commitment.key.like("outbox-%")))
        await s.commit()


def note(name: str) -> NewEvent:
    return NewEvent(EventType.commitment_updated, f"/test/{name}", {"name": name})


async def read_all(
    factory: async_sessionmaker[AsyncSession], position: Position
) -> tuple[list[str], Position]:
    async with factory() as reader:
        rows = await EventRepository(reader).after(position, limit=500)
        names = [r.payload["name"] for r in rows if r.subject.startswith("/test/")]
        after = Position(rows[-1].txid, rows[-1].id) if rows else position
        await reader.rollback()
    return names, after


async def settled(
    factory: async_sessionmaker[AsyncSession], position: Position, expected: list[str]
) -> Position:
    """Read until `expected` shows (a writing transaction elsewhere in the cluster, older than ours, holds the feed
    back until it ends: the machine is shared), then check nothing else came."""
    names: list[str] = []
    for _ in range(300):
        names, after = await read_all(factory, position)
        if names:
            break
        await asyncio.sleep(0.1)
    assert names == expected
    return after


async def test_an_event_that_commits_later_with_a_lower_id_is_not_skipped(
    engine: AsyncEngine, factory: async_sessionmaker[AsyncSession]
) -> None:
    async with factory() as first, factory() as second:
        # `first` starts its transaction (takes its id) before `second`; `second` inserts first (lower event id).
        await first.execute(text("SELECT pg_current_xact_id()"))
        await emit(second, note("second"))
        await emit(first, note("first"))
        ids = {
            r.payload["name"]: r.id
            for r in (await first.execute(select(Event).where(Event.subject.like("/test/%")))).scalars()
        }
        assert ids == {"first": ids["first"]}  # its own, uncommitted event
        await first.commit()
        # A reader ordered by id alone now sees id N+1 and would move past N, which commits next.
        async with engine.connect() as naive:
            seen = (
                (await naive.execute(text("SELECT id FROM events WHERE subject LIKE '/test/%'")))
                .scalars()
                .all()
            )
        assert seen == [ids["first"]] and ids["first"] > min(ids["first"], 0)
        position = await settled(factory, START, ["first"])
        await second.commit()
    # after the cursor, although its id is lower than the one served before
    position = await settled(factory, position, ["second"])
    assert (await read_all(factory, position))[0] == []


async def test_an_event_waits_for_older_transactions(factory: async_sessionmaker[AsyncSession]) -> None:
    async with factory() as older, factory() as newer:
        await older.execute(text("SELECT pg_current_xact_id()"))
        await emit(newer, note("newer"))
        await newer.commit()
        assert (await read_all(factory, START))[0] == []  # `older` may still commit an event before it
        await emit(older, note("older"))
        await older.commit()
    await settled(factory, START, ["older", "newer"])


async def test_a_killed_transaction_leaves_neither_change_nor_event(
    engine: AsyncEngine, factory: async_sessionmaker[AsyncSession]
) -> None:
    key = f"outbox-{uuid.uuid4().hex[:8]}"
    async with factory() as doomed:
        await CommitmentService(doomed).create({"title": "Nooit bewaard", "key": key})
        assert (await doomed.execute(select(Event).where(Event.payload["key"].as_string() == key))).first()
        pid = (await doomed.execute(text("SELECT pg_backend_pid()"))).scalar()
        async with engine.connect() as killer:
            await killer.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
            await killer.commit()
        with pytest.raises(Exception):  # noqa: B017  (whatever the driver raises for a terminated connection)
            await doomed.commit()
    async with factory() as check:
        assert (await check.execute(select(Commitment).where(Commitment.key == key))).first() is None
        events = (await check.execute(select(Event).where(Event.payload["key"].as_string() == key))).all()
        assert events == []
        await CommitmentService(check).create({"title": "Bewaard", "key": key})
        await check.commit()
    async with factory() as check:
        events = (
            await check.execute(select(Event.type).where(Event.payload["key"].as_string() == key))
        ).scalars()
        assert list(events) == ["commitment.created"]
        await check.execute(delete(Event).where(Event.payload["key"].as_string() == key))
        await check.commit()
