"""Loads the rule inputs for a batch of commitments: a fixed number of queries per batch, never per row.

Rows are read with Core selects (plain tuples) because a full run reads every commitment, milestone,
measurement and action; the ORM's identity map would cost more than the rules themselves.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import String, and_, select, type_coerce
from sqlalchemy.ext.asyncio import AsyncSession

from shared.actions.models import Action
from shared.commitments.models import Commitment, commitment_themes
from shared.milestones.models import Direction, Measurement, Milestone
from shared.status.inputs import (
    ActionInput, CommitmentInput, MeasurementInput, MilestoneInput, OverrideInput, SignalCounts, Thresholds,
)
from shared.status.loaders_signals import SignalIndex, build_signal_index, count_signals
from shared.status.loaders_tk import load_tk
from shared.status.models import StatusOverride

C, M, MS, A = Commitment.__table__.c, Milestone.__table__.c, Measurement.__table__.c, Action.__table__.c
SINGLE_SIGNAL_QUERIES = 5  # up to this many commitments, count signals in SQL rather than build an index


@dataclass
class Current:
    """What is stored now, to write only what changed."""

    status: str
    schedule: str
    source_status: str | None
    reasons_digest: str | None
    rule_version: str | None
    milestones: dict[str, str]


@dataclass
class Batch:
    inputs: dict[uuid.UUID, CommitmentInput]
    current: dict[uuid.UUID, Current]


IdRange = tuple[uuid.UUID | None, uuid.UUID]


def _scope(column: Any, ids: Sequence[uuid.UUID] | None, id_range: IdRange | None) -> Any:
    """Commitments by id list (single recalculations) or by id range (full runs: index range scans, and one
    cached statement instead of thousands of bound ids)."""
    if id_range is None:
        return column.in_(list(ids or ()))
    low, high = id_range
    return and_(column > low, column <= high) if low is not None else column <= high


async def load_batch(session: AsyncSession, ids: Sequence[uuid.UUID] | None, as_of: dt.date, thresholds: Thresholds,
                     *, signals: SignalIndex | None = None, lock: bool = False,
                     id_range: IdRange | None = None) -> Batch:
    """Inputs and stored state of the given commitments (by `ids`, or all in `id_range` = (after, up to]).

    `lock` takes row locks on the commitments (PostgreSQL), so two recalculations of one commitment
    serialise and the second one sees the first one's result: no duplicate history entries.
    """
    if id_range is None and not ids:
        return Batch({}, {})
    query = select(C.id, C.due_date, C.tk_toezegging_nummer, C.owner_party_id, C.status, C.schedule,
                   C.source_status, C.reasons_digest, C.rule_version).where(_scope(C.id, ids, id_range)).order_by(C.id)
    if lock:
        query = query.with_for_update(of=Commitment.__table__)
    commitments = (await session.execute(query)).all()
    if not commitments:
        return Batch({}, {})

    def scope(column: Any) -> Any:
        return _scope(column, ids, id_range)

    themes: dict[uuid.UUID, list[str]] = defaultdict(list)
    for cid, theme in (await session.execute(
            select(commitment_themes.c.commitment_id, commitment_themes.c.theme_key)
            .where(scope(commitment_themes.c.commitment_id)))).tuples().all():
        themes[cid].append(theme)

    # Milestones of the commitment itself and of its actions.
    # Enum columns read as plain strings: the rules compare strings, and per-row enum conversion is costly.
    # Milestone ids also come raw (driver's own type) to match measurements without converting a million ids.
    milestone_cols = (M.id, M.title, M.due_date, M.target_value, M.baseline_value, M.baseline_date,
                      type_coerce(M.direction, String), M.status, type_coerce(M.id, String))
    milestone_rows = list((await session.execute(
        select(M.commitment_id, *milestone_cols).where(scope(M.commitment_id)))).tuples().all())
    via_actions = Milestone.__table__.join(Action.__table__, M.action_id == A.id)
    milestone_rows += list((await session.execute(
        select(A.commitment_id, *milestone_cols).select_from(via_actions).where(scope(A.commitment_id)))).tuples().all())

    points: dict[Any, list[MeasurementInput]] = defaultdict(list)
    if milestone_rows:
        for source, owner in ((Milestone.__table__, M.commitment_id), (via_actions, A.commitment_id)):
            rows = (await session.execute(
                select(type_coerce(MS.milestone_id, String), MS.date, MS.value)
                .select_from(Measurement.__table__.join(source, MS.milestone_id == M.id))
                .where(scope(owner), MS.date <= as_of))).tuples().all()
            for raw_mid, day, value in rows:
                points[raw_mid].append(MeasurementInput(day, value))

    milestones: dict[uuid.UUID, list[MilestoneInput]] = defaultdict(list)
    stored_milestones: dict[uuid.UUID, dict[str, str]] = defaultdict(dict)
    for cid, mid, title, due, target, base, base_date, direction, status, raw_mid in milestone_rows:
        key = str(mid)
        milestones[cid].append(MilestoneInput(
            id=key, title=title, due_date=due, target_value=target, baseline_value=base,
            baseline_date=base_date, decreasing=direction == Direction.decrease.value,
            measurements=tuple(points.get(raw_mid, ()))))
        stored_milestones[cid][key] = status

    actions: dict[uuid.UUID, list[ActionInput]] = defaultdict(list)
    for aid, cid, title, state, last, created in (await session.execute(
            select(A.id, A.commitment_id, A.title, type_coerce(A.state, String), A.last_update_date, A.created_at)
            .where(scope(A.commitment_id)).order_by(A.id))).tuples().all():
        actions[cid].append(ActionInput(id=str(aid), title=title, state=state, last_update_date=last,
                                        created_date=_date_of(created)))

    O = StatusOverride.__table__.c
    overrides = {row.commitment_id: OverrideInput(row.status, row.reason, row.expires_at, row.set_by, row.set_at)
                 for row in (await session.execute(
                     select(O.commitment_id, O.status, O.reason, O.expires_at, O.set_by, O.set_at)
                     .where(scope(O.commitment_id)))).all()}

    tk = await load_tk(session, [row.tk_toezegging_nummer for row in commitments if row.tk_toezegging_nummer])
    single_counts: dict[uuid.UUID, SignalCounts] = {}
    if signals is None:
        if len(commitments) <= SINGLE_SIGNAL_QUERIES:
            for row in commitments:
                single_counts[row.id] = await count_signals(session, row.id, themes.get(row.id, ()),
                                                            row.owner_party_id, as_of, thresholds)
        else:
            signals = await build_signal_index(session, as_of, thresholds,
                                               themes={t for ts in themes.values() for t in ts},
                                               commitment_ids=[row.id for row in commitments])

    inputs: dict[uuid.UUID, CommitmentInput] = {}
    current: dict[uuid.UUID, Current] = {}
    for row in commitments:
        cid = row.id
        counts = single_counts.get(cid) if signals is None else signals.counts(cid, themes.get(cid, ()),
                                                                                row.owner_party_id)
        inputs[cid] = CommitmentInput(
            id=str(cid), due_date=row.due_date, tk_toezegging_nummer=row.tk_toezegging_nummer,
            tk=tk.get(row.tk_toezegging_nummer) if row.tk_toezegging_nummer else None,
            milestones=tuple(sorted(milestones.get(cid, ()), key=lambda m: (m.due_date, m.id))),
            actions=tuple(actions.get(cid, ())), signals=counts, override=overrides.get(cid))
        current[cid] = Current(row.status, row.schedule, row.source_status, row.reasons_digest, row.rule_version,
                               stored_milestones.get(cid, {}))
    return Batch(inputs, current)


def _date_of(value: dt.datetime | None) -> dt.date | None:
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value.astimezone(dt.UTC).date()
