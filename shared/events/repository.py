"""Reading the feed in order without ever skipping an event.

On PostgreSQL `id` comes from a sequence when the row is inserted, but transactions commit in any order: a
transaction holding id 10 may commit after one holding id 11 was read, and a reader that had moved its cursor to
11 would never see 10. Choices considered:
- a counter taken under a lock per committing transaction: serialises every writer (status runs, requests) on
  one lock for the length of their transactions;
- serving only ids below the oldest in-flight transaction's first id: not knowable (uncommitted rows are
  invisible to the reader);
- (taken) every event row carries its top-level transaction id (`txid`, xid8 as bigint, set by the database).
  The feed is ordered by (txid, id) and serves only rows whose txid is below the xmin of the reader's snapshot
  (`pg_snapshot_xmin(pg_current_snapshot())`): every transaction below it has committed or aborted, and every
  transaction that can still commit, or that starts later, has a txid at or above it, so its events sort after
  any position already served. Writers take no extra lock; an event waits at most until the transactions
  older than its own have finished (a long-running transaction delays the feed, never reorders it).
  A transaction also sees its own events (tests run inside one; readers in production never write).
SQLite has one writer at a time (sessions begin IMMEDIATE: shared/db.py), so commit order is id order and
txid is 0.

A position is `<txid>_<id>` (opaque to clients).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any, NamedTuple

from sqlalchemy import BigInteger, delete, literal, select, text, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from shared.db import rowcount
from shared.errors import InvalidCursor
from shared.events.models import Event

_SETTLED = text("(pg_snapshot_xmin(pg_current_snapshot())::text::bigint)")
_OWN = text("(pg_current_xact_id_if_assigned()::text::bigint)")


class Position(NamedTuple):
    txid: int
    id: int

    def encode(self) -> str:
        return f"{self.txid}_{self.id}"

    @classmethod
    def decode(cls, raw: str) -> Position:
        txid, sep, event_id = raw.partition("_")
        if not sep or not txid.isdigit() or not event_id.isdigit() or len(raw) > 42:
            raise InvalidCursor(
                "The cursor is not one this feed gave out (use next_cursor as it was returned)."
            )
        return cls(int(txid), int(event_id))


START = Position(0, 0)


class EventRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def after(
        self, position: Position, *, limit: int, types: Sequence[str] = (), condition: Any = None
    ) -> list[Event]:
        """Up to `limit` events after `position` that can no longer be preceded by another, in feed order."""
        return list(
            (
                await self.session.execute(
                    self.statement(select(Event), position, limit=limit, types=types, condition=condition)
                )
            ).scalars()
        )

    async def page(
        self, position: Position, *, limit: int, types: Sequence[str] = (), condition: Any = None
    ) -> list[Any]:
        """`after` as plain rows in EventOut's shape (a feed page is serialised without building objects)."""
        columns = select(
            Event.id, Event.txid, Event.type, Event.at.label("time"), Event.subject, Event.payload
        )
        return list(
            (
                await self.session.execute(
                    self.statement(columns, position, limit=limit, types=types, condition=condition)
                )
            ).mappings()
        )

    def statement(
        self, stmt: Any, position: Position, *, limit: int, types: Sequence[str], condition: Any
    ) -> Any:
        stmt = stmt.where(
            tuple_(Event.txid, Event.id)
            > tuple_(literal(position.txid, BigInteger), literal(position.id, BigInteger))
        )
        if self.session.get_bind().dialect.name == "postgresql":
            stmt = stmt.where((Event.txid < _SETTLED) | (Event.txid == _OWN))
        if types:
            stmt = stmt.where(Event.type.in_(list(types)))
        if condition is not None:
            stmt = stmt.where(condition)
        return stmt.order_by(Event.txid, Event.id).limit(limit)

    async def last_served(self) -> Position | None:
        """The newest position a reader may be given now (None: the feed is empty)."""
        stmt = self.statement(select(Event.txid, Event.id), START, limit=1, types=(), condition=None)
        row = (
            await self.session.execute(stmt.order_by(None).order_by(Event.txid.desc(), Event.id.desc()))
        ).first()
        return Position(row[0], row[1]) if row else None

    async def waiting_after(self, position: Position) -> bool:
        """Whether an event after `position` has committed but is not served yet (an older transaction, anywhere in
        the cluster, may still commit before it): the caller should look again shortly."""
        stmt = (
            select(Event.id)
            .where(
                tuple_(Event.txid, Event.id)
                > tuple_(literal(position.txid, BigInteger), literal(position.id, BigInteger))
            )
            .limit(1)
        )
        return (await self.session.execute(stmt)).first() is not None

    async def purge(self, before: dt.datetime) -> int:
        """Events older than `before` (NAKOMING_EVENT_RETENTION_DAYS)."""
        return rowcount(await self.session.execute(delete(Event).where(Event.at < before)))
