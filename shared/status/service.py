"""Recalculates and stores statuses; sets and removes overrides. Never commits (the caller does).

Writes are derived data: they do not bump a record's `version` (its ETag) nor its `updated_at`, so a
recalculation enqueued after a client's write never makes that client's next If-Match fail.
A history entry is written only when status, schedule or reasons change. An unchanged result is not
written at all (a nightly run over unchanged data rewrites no rows), so `evaluated_at` is when the stored
result was computed.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson
from sqlalchemy import JSON, String, bindparam, delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from shared.actions.models import Action
from shared.commitments.models import Commitment, commitment_recommendations
from shared.db import UTCDateTime, rowcount, utcnow
from shared.errors import NotFound, ValidationFailed, field_error
from shared.events.service import EventType, NewEvent, emit_many, milestone_status_changed, status_changed
from shared.milestones.models import Milestone
from shared.pg import driver_connection
from shared.recommendations.models import Recommendation
from shared.status.combine import Evaluation, digest, evaluate, reasons_text
from shared.status.inputs import Thresholds
from shared.status.loaders import Batch, IdRange, load_batch
from shared.status.loaders_signals import SignalIndex
from shared.status.models import StatusHistory, StatusOverride
from shared.status.rollup import rollup, rollup_reasons
from shared.status.schemas import StatusOut
from shared.status.vocabulary import RULE_VERSION

C, M, A = Commitment.__table__.c, Milestone.__table__.c, Action.__table__.c
R, CR = Recommendation.__table__.c, commitment_recommendations.c

_WRITE_COMMITMENT = (
    update(Commitment.__table__)
    .where(C.id == bindparam("b_id"))
    .values(
        status=bindparam("b_status", type_=String),
        schedule=bindparam("b_schedule", type_=String),
        source_status=bindparam("b_source_status", type_=String),
        reasons=bindparam("b_reasons", type_=JSON),
        reasons_digest=bindparam("b_digest", type_=String),
        evaluated_at=bindparam("b_at", type_=UTCDateTime),
        rule_version=bindparam("b_version", type_=String),
        updated_at=C.updated_at,
    )
)
_WRITE_MILESTONE = (
    update(Milestone.__table__)
    .where(M.id == bindparam("b_id"))
    .values(
        status=bindparam("b_status", type_=String),
        reasons=bindparam("b_reasons", type_=JSON),
        reasons_digest=bindparam("b_digest", type_=String),
        updated_at=M.updated_at,
    )
)
_WRITE_RECOMMENDATION = (
    update(Recommendation.__table__)
    .where(R.id == bindparam("b_id"))
    .values(
        status=bindparam("b_status", type_=String),
        reasons=bindparam("b_reasons", type_=JSON),
        updated_at=R.updated_at,
    )
)


# One statement, one round trip per batch: the commitments (a compare-and-set on the digest read before:
# without row locks, a concurrent recalculation that already stored a newer result wins, and this one writes
# no duplicate history entry), their history entries (only for rows actually written), the milestones.
# The batch's id range ($14, $15) and the milestone id list let the database read only the batch's rows
# instead of hashing the whole commitments and milestones tables for each batch; the batch's rows (about 20 MB of
# reasons) fit in work_mem, set for the transaction, instead of spilling to temporary files.
# The events of status changes ride along ($18-$23): a commitment's only when its compare-and-set wrote it, all
# in the batch's transaction (the outbox, shared/events), in the same round trip.
_PG_WRITE = """
    WITH v AS MATERIALIZED (
        SELECT * FROM unnest($1::uuid[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[],
                             $8::uuid[])
               AS v(id, status, schedule, source_status, reasons, digest, old_digest, history_id)
    ), written AS (
        UPDATE commitments AS c SET status = v.status, schedule = v.schedule, source_status = v.source_status,
               reasons = v.reasons::json, reasons_digest = v.digest, evaluated_at = $9, rule_version = $10
        FROM v WHERE c.id = v.id AND c.id BETWEEN $14 AND $15
                 AND c.reasons_digest IS NOT DISTINCT FROM v.old_digest
        RETURNING c.id
    ), history AS (
        INSERT INTO status_history (id, commitment_id, status, schedule, source_status, reasons, rule_version, as_of,
                                    evaluated_at)
        SELECT v.history_id, v.id, v.status, v.schedule, v.source_status, v.reasons::json, $10, $11, $9
        FROM written JOIN v ON v.id = written.id WHERE v.history_id IS NOT NULL
        RETURNING 1
    ), milestones AS (
        UPDATE milestones AS m SET status = u.status, reasons = u.reasons::json, reasons_digest = u.digest
        FROM unnest($12::uuid[], $13::text[], $16::text[], $17::text[]) AS u(id, status, reasons, digest)
        WHERE m.id = u.id AND m.id = ANY($12::uuid[])
        RETURNING m.id
    ), events AS (
        INSERT INTO events (type, at, subject, payload, audience)
        SELECT $20, $9, e.subject, e.payload::json, 'public'
        FROM written JOIN unnest($1::uuid[], $18::text[], $19::text[]) AS e(id, payload, subject) ON e.id = written.id
        WHERE e.payload IS NOT NULL
        UNION ALL
        SELECT $23, $9, e.subject, e.payload::json, 'public'
        FROM milestones JOIN unnest($12::uuid[], $21::text[], $22::text[]) AS e(id, payload, subject)
             ON e.id = milestones.id
        WHERE e.payload IS NOT NULL
        RETURNING 1
    )
    SELECT (SELECT count(*) FROM written), (SELECT count(*) FROM history), (SELECT count(*) FROM milestones),
           (SELECT count(*) FROM events)"""


async def _write_postgresql(
    session: AsyncSession, changes: Changes, as_of: dt.date, now: dt.datetime
) -> None:
    if not (changes.commitments or changes.milestones):
        return
    raw = await driver_connection(session)
    rows = changes.commitments
    if len(rows) + len(changes.milestones) > 1000:
        await raw.execute("SET LOCAL work_mem = '64MB'")
    ids = [r["b_id"] for r in rows]
    await raw.fetchrow(
        _PG_WRITE,
        ids,
        [r["b_status"] for r in rows],
        [r["b_schedule"] for r in rows],
        [r["b_source_status"] for r in rows],
        [r["b_reasons"] for r in rows],
        [r["b_digest"] for r in rows],
        [r["b_old_digest"] for r in rows],
        [uuid.uuid4() if r["b_history"] else None for r in rows],
        now,
        RULE_VERSION,
        as_of,
        [r["b_id"] for r in changes.milestones],
        [r["b_status"] for r in changes.milestones],
        min(ids, default=None),
        max(ids, default=None),
        [r["b_reasons"] for r in changes.milestones],
        [r["b_digest"] for r in changes.milestones],
        *_event_arrays(changes.events, rows),
        str(EventType.commitment_status_changed),
        *_event_arrays(changes.milestone_events, changes.milestones),
        str(EventType.milestone_status_changed),
    )


def _event_arrays(
    events: dict[Any, NewEvent], rows: list[dict[str, Any]]
) -> tuple[list[str | None], list[str | None]]:
    """Payload (JSON text) and subject of each row's event, aligned with the rows (None: no event)."""
    found = [events.get(r["b_id"]) for r in rows]
    return (
        [orjson.dumps(e.payload).decode() if e else None for e in found],
        [e.subject if e else None for e in found],
    )


def today() -> dt.date:
    return dt.datetime.now(dt.UTC).date()


@dataclass
class Outcome:
    as_of: dt.date
    evaluated_at: dt.datetime
    evaluations: dict[uuid.UUID, Evaluation] = field(default_factory=dict)
    changed: int = 0  # commitments whose status, schedule or reasons changed (history entries written)
    milestones_changed: int = 0
    recommendations_changed: int = 0


@dataclass
class Changes:
    """What an evaluated batch has to store (rows in the shape of the SQLAlchemy statements above)."""

    commitments: list[dict[str, Any]] = field(default_factory=list)  # new result, or only source/rule version
    history: list[dict[str, Any]] = field(default_factory=list)  # status, schedule or reasons changed
    milestones: list[dict[str, Any]] = field(default_factory=list)
    # Status changes to announce (shared/events), by the `b_id` of the row above that carries them.
    events: dict[Any, NewEvent] = field(default_factory=dict)
    milestone_events: dict[Any, NewEvent] = field(default_factory=dict)


class StatusService:
    def __init__(self, session: AsyncSession, thresholds: Thresholds) -> None:
        self.session = session
        self.thresholds = thresholds

    async def recalculate(
        self,
        ids: Sequence[uuid.UUID] | None,
        as_of: dt.date | None = None,
        *,
        signals: SignalIndex | None = None,
        lock: bool = True,
        roll_up: bool = True,
        now: dt.datetime | None = None,
        id_range: IdRange | None = None,
    ) -> Outcome:
        """Evaluate the commitments (by id, or all in id_range) as of `as_of` (default today, UTC) and store
        what changed."""
        as_of = as_of or today()
        now = now or utcnow()
        batch = await load_batch(
            self.session, ids, as_of, self.thresholds, signals=signals, lock=lock, id_range=id_range
        )
        outcome = Outcome(as_of, now)
        changes = await self.evaluate(batch, outcome)
        await self.store(changes, as_of, now)
        if roll_up and batch.inputs:
            recommendation_ids = list(
                (
                    await self.session.execute(
                        select(CR.recommendation_id)
                        .where(CR.commitment_id.in_(list(batch.inputs)))
                        .distinct()
                    )
                ).scalars()
            )
            if recommendation_ids:
                outcome.recommendations_changed = await self.roll_up_recommendations(recommendation_ids)
        return outcome

    async def evaluate(self, batch: Batch, outcome: Outcome, *, pause_every: int = 0) -> Changes:
        """Evaluate a loaded batch into `outcome` and return what to store. With `pause_every`, hands control
        back to the event loop every that many commitments (a full run overlaps the previous batch's write)."""
        as_of, now = outcome.as_of, outcome.evaluated_at
        changes = Changes()
        thresholds = self.thresholds
        # PostgreSQL: reasons as JSON text built here in one orjson call, milestone ids in their text form
        # (asyncpg encodes them as uuid); SQLite: lists of dicts and UUIDs through SQLAlchemy's types.
        as_text = self.session.get_bind().dialect.name == "postgresql"
        for count, (cid, inputs) in enumerate(batch.inputs.items(), 1):
            if pause_every and count % pause_every == 0:
                await asyncio.sleep(0)
            result = evaluate(inputs, as_of, thresholds)
            outcome.evaluations[cid] = result
            stored = batch.current[cid]
            result_digest = result.digest()
            new_decision = (
                stored.reasons_digest != result_digest
                or stored.status != result.status
                or stored.schedule != result.schedule
            )
            if (
                new_decision
                or stored.source_status != result.source_status
                or stored.rule_version != RULE_VERSION
            ):
                # only built when it will be written
                reasons = result.reasons_text() if as_text else result.reasons_json()
                changes.commitments.append(
                    {
                        "b_id": cid,
                        "b_status": str(result.status),
                        "b_schedule": str(result.schedule),
                        "b_source_status": result.source_status,
                        "b_reasons": reasons,
                        "b_digest": result_digest,
                        "b_old_digest": stored.reasons_digest,
                        "b_at": now,
                        "b_version": RULE_VERSION,
                        "b_history": new_decision,
                    }
                )
                if stored.status != result.status or stored.schedule != result.schedule:
                    changes.events[cid] = status_changed(
                        cid,
                        (stored.status, stored.schedule),
                        (str(result.status), str(result.schedule)),
                        (str(r.rule) for r in result.reasons),
                    )
                if new_decision:
                    changes.history.append(
                        {
                            "commitment_id": cid,
                            "status": str(result.status),
                            "schedule": str(result.schedule),
                            "source_status": result.source_status,
                            "reasons": reasons,
                            "rule_version": RULE_VERSION,
                            "as_of": as_of,
                            "evaluated_at": now,
                        }
                    )
            for mid, status in result.milestones.items():
                own = result.milestone_reasons.get(mid, ())
                milestone_digest = digest(own, RULE_VERSION)  # new wording: rewritten
                before = stored.milestones.get(mid)
                if before != (status, milestone_digest):
                    key = mid if as_text else uuid.UUID(mid)
                    changes.milestones.append(
                        {
                            "b_id": key,
                            "b_status": str(status),
                            "b_reasons": reasons_text(own) if as_text else [r.to_dict() for r in own],
                            "b_digest": milestone_digest,
                        }
                    )
                    if before is None or before[0] != status:
                        changes.milestone_events[key] = milestone_status_changed(
                            mid, cid, before[0] if before else None, str(status)
                        )
        outcome.changed += len(changes.history)  # may count a lost compare-and-set race on PostgreSQL (rare)
        outcome.milestones_changed += len(changes.milestones)
        return changes

    async def store(self, changes: Changes, as_of: dt.date, now: dt.datetime) -> None:
        if self.session.get_bind().dialect.name == "postgresql":
            await _write_postgresql(self.session, changes, as_of, now)
            return
        if changes.commitments:
            await self.session.execute(
                _WRITE_COMMITMENT,
                [{k: v for k, v in r.items() if k != "b_history"} for r in changes.commitments],
            )
        if changes.history:
            await self.session.execute(insert(StatusHistory.__table__), changes.history)
        if changes.milestones:
            await self.session.execute(_WRITE_MILESTONE, changes.milestones)
        await emit_many(self.session, [*changes.events.values(), *changes.milestone_events.values()])

    async def recalculate_one(self, commitment_id: uuid.UUID) -> StatusOut:
        """Evaluate as of today and store (stored results are always as of today)."""
        outcome = await self.recalculate([commitment_id])
        if commitment_id not in outcome.evaluations:
            raise NotFound(f"No commitment with id {commitment_id}.")
        return StatusOut.of(
            commitment_id, outcome.evaluations[commitment_id], outcome.as_of, outcome.evaluated_at
        )

    async def preview(self, commitment_id: uuid.UUID, as_of: dt.date) -> StatusOut:
        """Evaluate as of any date and store nothing."""
        earliest = dt.date.min + dt.timedelta(
            days=self.thresholds.signal_recent_days + self.thresholds.signal_baseline_days + 1
        )
        if as_of < earliest:
            raise ValidationFailed(
                f"as_of must be {earliest} or later (the signal windows reach back from it).",
                [field_error(["query", "as_of"], f"before {earliest}", "as_of")],
            )
        batch = await load_batch(self.session, [commitment_id], as_of, self.thresholds)
        if commitment_id not in batch.inputs:
            raise NotFound(f"No commitment with id {commitment_id}.")
        result = evaluate(batch.inputs[commitment_id], as_of, self.thresholds)
        return StatusOut.of(commitment_id, result, as_of, utcnow())

    async def roll_up_recommendations(self, recommendation_ids: Iterable[uuid.UUID] | None = None) -> int:
        """Store each recommendation's roll-up status and its reasons (all of them when no ids are given)."""
        ids = list(recommendation_ids) if recommendation_ids is not None else None
        current_q = select(R.id, R.status, R.reasons)
        statuses_q = (
            select(CR.recommendation_id, C.id, C.status)
            .join(Commitment.__table__, C.id == CR.commitment_id)
            .order_by(CR.recommendation_id, C.id)
        )
        actions_q = (
            select(A.recommendation_id, A.id, A.state, A.last_update_date)
            .where(A.recommendation_id.isnot(None))
            .order_by(A.recommendation_id, A.id)
        )
        if ids is not None:
            current_q = current_q.where(R.id.in_(ids))
            statuses_q = statuses_q.where(CR.recommendation_id.in_(ids))
            actions_q = actions_q.where(A.recommendation_id.in_(ids))
        commitments: dict[uuid.UUID, list[tuple[str, str]]] = defaultdict(list)
        for rid, cid, status in (await self.session.execute(statuses_q)).tuples().all():
            commitments[rid].append((str(cid), status))
        actions: dict[uuid.UUID, list[tuple[str, str, Any]]] = defaultdict(list)
        for rid, aid, state, last in (await self.session.execute(actions_q)).tuples().all():
            actions[rid].append((str(aid), str(state), last))
        rows = []
        for rid, stored, stored_reasons in (await self.session.execute(current_q)).tuples().all():
            own, acts = commitments.get(rid, []), actions.get(rid, [])
            status = rollup((s for _, s in own), (s for _, s, _ in acts))
            reasons = [r.to_dict() for r in rollup_reasons(own, acts)]
            if status != stored or orjson.loads(orjson.dumps(reasons)) != stored_reasons:
                rows.append({"b_id": rid, "b_status": str(status), "b_reasons": reasons})
        if rows:
            await self.session.execute(_WRITE_RECOMMENDATION, rows)
        return len(rows)

    # Overrides -------------------------------------------------------------------------------------

    async def set_override(
        self,
        commitment_id: uuid.UUID,
        *,
        status: str,
        reason: str,
        expires_at: dt.datetime | None,
        set_by: str | None,
    ) -> StatusOut:
        await self.ensure_exists(commitment_id)
        if expires_at is not None and expires_at <= utcnow():
            raise ValidationFailed(
                "expires_at lies in the past.", [field_error(["body", "expires_at"], "must be in the future")]
            )
        override = await self.session.get(StatusOverride, commitment_id)
        if override is None:
            override = StatusOverride(commitment_id=commitment_id)
            self.session.add(override)
        override.status, override.reason, override.expires_at = status, reason, expires_at
        override.set_by, override.set_at = set_by, utcnow()
        await self.session.flush()
        return await self.recalculate_one(commitment_id)

    async def get_override(self, commitment_id: uuid.UUID) -> StatusOverride | None:
        return await self.session.get(StatusOverride, commitment_id)

    async def clear_override(self, commitment_id: uuid.UUID) -> StatusOut:
        deleted = rowcount(
            await self.session.execute(
                delete(StatusOverride.__table__).where(
                    StatusOverride.__table__.c.commitment_id == commitment_id
                )
            )
        )
        if not deleted:
            await self.ensure_exists(commitment_id)
            raise NotFound(f"Commitment {commitment_id} has no status override.")
        return await self.recalculate_one(commitment_id)

    async def ensure_exists(self, commitment_id: uuid.UUID) -> None:
        if (await self.session.execute(select(C.id).where(C.id == commitment_id))).first() is None:
            raise NotFound(f"No commitment with id {commitment_id}.")
