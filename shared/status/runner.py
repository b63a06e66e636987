"""Full recalculation: every commitment in batches, one transaction per batch (used by the nightly job
and `nakoming recalc --all`). Short transactions keep row locks brief while people keep working."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import gc
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from shared.commitments.models import Commitment
from shared.db import session_scope, utcnow
from shared.pg import driver_connection
from shared.status.inputs import Thresholds
from shared.status.loaders import IdRange, load_batch
from shared.status.loaders_signals import SignalIndex, build_signal_index
from shared.status.service import Changes, Outcome, StatusService, today


@dataclass
class Summary:
    as_of: dt.date
    commitments: int = 0
    changed: int = 0
    milestones_changed: int = 0
    recommendations_changed: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "as_of": self.as_of.isoformat(),
            "commitments": self.commitments,
            "changed": self.changed,
            "milestones_changed": self.milestones_changed,
            "recommendations_changed": self.recommendations_changed,
        }


@contextmanager
def fewer_collections() -> Iterator[None]:
    """A full run allocates millions of short-lived objects (rows, inputs, reasons) that reference counting
    frees; the cyclic garbage collector would still walk every live object again and again (measured: a third
    to half of the run). Its thresholds are raised for the run and restored after; it still runs."""
    old = gc.get_threshold()
    gc.set_threshold(max(old[0], 100_000), max(old[1], 50), max(old[2], 100))
    try:
        yield
    finally:
        gc.set_threshold(*old)


async def recalculate_all(
    factory: async_sessionmaker[AsyncSession],
    thresholds: Thresholds,
    *,
    as_of: dt.date | None = None,
    batch_size: int = 10000,
) -> Summary:
    with fewer_collections():
        return await _recalculate_all(factory, thresholds, as_of=as_of or today(), batch_size=batch_size)


async def _recalculate_all(
    factory: async_sessionmaker[AsyncSession], thresholds: Thresholds, *, as_of: dt.date, batch_size: int
) -> Summary:
    """Batches in id order, each in its own transaction. On PostgreSQL three things overlap: the database
    reads the next batch and stores the previous one while this process evaluates the current one (two cores:
    the database's and ours); each batch is still one transaction, committed in order, and a failure stops the
    run after the batches before it committed."""
    now = utcnow()
    summary = Summary(as_of)
    async with factory() as session:
        # The signal windows are the same for every commitment: read them once.
        signals = await build_signal_index(session, as_of, thresholds)
        # Overlap needs a connection per session (an engine's pool); sessions bound to one connection take turns.
        overlap = session.get_bind().dialect.name == "postgresql" and isinstance(
            factory.kw.get("bind"), AsyncEngine
        )
        await session.rollback()

    async def load(after: uuid.UUID | None) -> _Loaded | None:
        """The batch after `after` in its own session (None when there is none left)."""
        session = factory()
        try:
            query = select(Commitment.id).order_by(Commitment.id).offset(batch_size - 1).limit(1)
            if after is not None:
                query = query.where(Commitment.id > after)
            upper = (await session.execute(query)).scalar()
            if upper is None:  # the last, short batch: up to the highest id
                query = select(Commitment.id).order_by(Commitment.id.desc()).limit(1)
                if after is not None:
                    query = query.where(Commitment.id > after)
                upper = (await session.execute(query)).scalar()
            if upper is None:
                await session.close()
                return None
            # no row locks over a whole batch: the write is a compare-and-set instead
            batch = await load_batch(
                session, None, as_of, thresholds, signals=signals, id_range=(after, upper)
            )
            return _Loaded(session, upper, batch)
        except BaseException:
            await session.close()
            raise

    writing: asyncio.Task[None] | None = None
    loading: asyncio.Task[_Loaded | None] | None = asyncio.create_task(load(None))
    try:
        while loading is not None:
            loaded = await loading
            loading = None
            if loaded is None:
                break
            session = loaded.session
            try:
                if overlap:  # the database reads the next batch while this one is evaluated
                    loading = asyncio.create_task(load(loaded.upper))
                service = StatusService(session, thresholds)
                outcome = Outcome(as_of, now)
                changes = await service.evaluate(loaded.batch, outcome, pause_every=500 if overlap else 0)
                del loaded.batch
                if writing is not None:
                    await writing  # the previous batch is committed before this one is stored
            except BaseException:
                await session.close()
                raise
            writing = asyncio.create_task(_store(session, service, changes, as_of, now))
            if not overlap:
                await writing
                loading = asyncio.create_task(load(loaded.upper))
            await asyncio.sleep(0)  # let the write start
            summary.commitments += len(outcome.evaluations)
            summary.changed += outcome.changed
            summary.milestones_changed += outcome.milestones_changed
        if writing is not None:
            await writing
    finally:
        if writing is not None and not writing.done():
            # the batch before the failure was evaluated whole: it is stored (a cancellation cancels it too)
            with contextlib.suppress(BaseException):
                await writing
        if loading is not None:  # a batch read ahead and never evaluated: its session is closed too
            loading.cancel()
            with contextlib.suppress(BaseException):
                leftover = await loading
                if leftover is not None:
                    await leftover.session.close()
    async with session_scope(factory) as session:
        summary.recommendations_changed = await StatusService(session, thresholds).roll_up_recommendations()
    return summary


LAST_ID = uuid.UUID(
    int=(1 << 128) - 1
)  # the upper bound of the last range: it takes commitments added meanwhile


async def plan_ranges(session: AsyncSession, batch_size: int) -> list[IdRange]:
    """The (after, up to] id ranges of consecutive batches of `batch_size` commitments in id order, for a run
    spread over several workers (one job per range). The last range reaches the highest possible id, so a
    commitment created while the run goes on is evaluated too, as a single-process run would."""
    numbered = select(Commitment.id, func.row_number().over(order_by=Commitment.id).label("n")).subquery()
    uppers = list(
        (
            await session.execute(
                select(numbered.c.id).where(numbered.c.n % batch_size == 0).order_by(numbered.c.id)
            )
        ).scalars()
    )
    lowers: list[uuid.UUID | None] = [None, *uppers]
    return [(low, high) for low, high in zip(lowers, [*uppers, LAST_ID], strict=True)]


async def recalculate_range(
    factory: async_sessionmaker[AsyncSession],
    thresholds: Thresholds,
    id_range: IdRange,
    *,
    as_of: dt.date,
    now: dt.datetime,
    signals: SignalIndex | None = None,
) -> Summary:
    """One range of a spread run, in one transaction, with the same load, rules and compare-and-set write as a
    batch of `recalculate_all` (the rows of a range are evaluated exactly as there; `signals`, the run's signal
    windows, are read here when not given). It yields to the event loop while it evaluates, so the worker's
    other jobs (the next range's reads and writes) go on meanwhile."""
    summary = Summary(as_of)
    with fewer_collections():
        session = factory()
        try:
            if signals is None:
                signals = await build_signal_index(session, as_of, thresholds)
            batch = await load_batch(session, None, as_of, thresholds, signals=signals, id_range=id_range)
            service = StatusService(session, thresholds)
            outcome = Outcome(as_of, now)
            changes = await service.evaluate(batch, outcome, pause_every=500)
            del batch, signals
        except BaseException:
            await session.close()
            raise
        await _store(session, service, changes, as_of, now)
    summary.commitments = len(outcome.evaluations)
    summary.changed, summary.milestones_changed = outcome.changed, outcome.milestones_changed
    return summary


@dataclass
class _Loaded:
    session: AsyncSession
    upper: uuid.UUID
    batch: Any


async def _store(
    session: AsyncSession, service: StatusService, changes: Changes, as_of: dt.date, now: dt.datetime
) -> None:
    """Store one evaluated batch and commit it (its session is closed either way).

    On PostgreSQL the commit does not wait for the write-ahead log to reach the disk (`synchronous_commit =
    off`, this transaction only): statuses are derived data, so a crash can at worst lose the last batches'
    results, which the next run recomputes; a batch is still stored whole or not at all."""
    try:
        if session.get_bind().dialect.name == "postgresql":
            await (await driver_connection(session)).execute("SET LOCAL synchronous_commit = off")
        await service.store(changes, as_of, now)
        await session.commit()
    finally:
        await session.close()


async def recalc(settings: Any, *, commitment_id: uuid.UUID | None, as_of: dt.date | None) -> dict[str, Any]:
    """`nakoming recalc`: every commitment or one, stored as of today; with `as_of` one commitment's status as
    of that date, printed and stored nowhere."""
    from shared.db import create_engine, create_session_factory
    from shared.errors import NotFound

    thresholds = Thresholds.from_settings(settings)
    engine = create_engine(settings.database_url)
    try:
        factory = create_session_factory(engine)
        if commitment_id is None:
            return (
                await recalculate_all(factory, thresholds, batch_size=settings.recalc_batch_size)
            ).as_dict()
        async with session_scope(factory) as session:
            service = StatusService(session, thresholds)
            try:
                result = (
                    await service.preview(commitment_id, as_of)
                    if as_of is not None
                    else await service.recalculate_one(commitment_id)
                )
            except NotFound:
                return {"commitment_id": str(commitment_id), "found": False}
        return result.model_dump(mode="json")
    finally:
        await engine.dispose()
