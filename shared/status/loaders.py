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

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from shared.actions.models import Action
from shared.commitments.models import Commitment, commitment_themes
from shared.milestones.models import Direction, Measurement, Milestone
from shared.status.inputs import (
    ActionInput, CommitmentInput, MeasurementInput, MilestoneInput, OverrideInput, Thresholds,
)
from shared.status.loaders_signals import SignalIndex, build_signal_index
from shared.status.loaders_tk import load_tk
from shared.status.models import StatusOverride

C, M, MS, A = Commitment.__table__.c, Milestone.__table__.c, Measurement.__table__.c, Action.__table__.c


@dataclass
class Current:
    """What is stored now, to write only what changed."""

    status: str
    schedule: str
    source_status: str | None
    reasons: list[Any] | None
    milestones: dict[str, str]


@dataclass
class Batch:
    inputs: dict[uuid.UUID, CommitmentInput]
    current: dict[uuid.UUID, Current]


async def load_batch(session: AsyncSession, ids: Sequence[uuid.UUID], as_of: dt.date, thresholds: Thresholds,
                     *, signals: SignalIndex | None = None, lock: bool = False) -> Batch:
    """Inputs and stored state of the given commitments (missing ids are left out).

    `lock` takes row locks on the commitments (PostgreSQL), so two recalculations of one commitment
    serialise and the second one sees the first one's result: no duplicate history entries.
    """
    if not ids:
        return Batch({}, {})
    ids = list(ids)
    query = select(C.id, C.due_date, C.tk_toezegging_nummer, C.owner_party_id, C.status, C.schedule,
                   C.source_status, C.reasons).where(C.id.in_(ids)).order_by(C.id)
    if lock:
        query = query.with_for_update(of=Commitment.__table__)
    commitments = (await session.execute(query)).all()
    if not commitments:
        return Batch({}, {})
    ids = [row.id for row in commitments]

    themes: dict[uuid.UUID, list[str]] = defaultdict(list)
    for cid, theme in (await session.execute(
            select(commitment_themes.c.commitment_id, commitment_themes.c.theme_key)
            .where(commitment_themes.c.commitment_id.in_(ids)))).tuples():
        themes[cid].append(theme)

    # Milestones of the commitment itself and of its actions.
    milestone_cols = (M.id, M.title, M.due_date, M.target_value, M.baseline_value, M.baseline_date, M.direction,
                      M.status)
    milestone_rows = list((await session.execute(
        select(M.commitment_id, *milestone_cols).where(M.commitment_id.in_(ids)))).tuples())
    milestone_rows += list((await session.execute(
        select(A.commitment_id, *milestone_cols).join(Action.__table__, M.action_id == A.id)
        .where(A.commitment_id.in_(ids)))).tuples())

    points: dict[uuid.UUID, list[MeasurementInput]] = defaultdict(list)
    if milestone_rows:
        owned = select(M.id).where(M.commitment_id.in_(ids)).union_all(
            select(M.id).join(Action.__table__, M.action_id == A.id).where(A.commitment_id.in_(ids)))
        for mid, pid, day, value in (await session.execute(
                select(MS.milestone_id, MS.id, MS.date, MS.value)
                .where(MS.milestone_id.in_(owned.scalar_subquery()), MS.date <= as_of))).tuples():
            points[mid].append(MeasurementInput(day, value, str(pid)))

    milestones: dict[uuid.UUID, list[MilestoneInput]] = defaultdict(list)
    stored_milestones: dict[uuid.UUID, dict[str, str]] = defaultdict(dict)
    for cid, mid, title, due, target, base, base_date, direction, status in milestone_rows:
        milestones[cid].append(MilestoneInput(
            id=str(mid), title=title, due_date=due, target_value=target, baseline_value=base,
            baseline_date=base_date, decreasing=direction == Direction.decrease,
            measurements=tuple(points.get(mid, ()))))
        stored_milestones[cid][str(mid)] = status

    actions: dict[uuid.UUID, list[ActionInput]] = defaultdict(list)
    for aid, cid, title, state, last, created in (await session.execute(
            select(A.id, A.commitment_id, A.title, A.state, A.last_update_date, A.created_at)
            .where(A.commitment_id.in_(ids)).order_by(A.id))).tuples():
        actions[cid].append(ActionInput(id=str(aid), title=title, state=str(state), last_update_date=last,
                                        created_date=_date_of(created)))

    O = StatusOverride.__table__.c
    overrides = {row.commitment_id: OverrideInput(row.status, row.reason, row.expires_at, row.set_by, row.set_at)
                 for row in (await session.execute(
                     select(O.commitment_id, O.status, O.reason, O.expires_at, O.set_by, O.set_at)
                     .where(O.commitment_id.in_(ids)))).all()}

    tk = await load_tk(session, [row.tk_toezegging_nummer for row in commitments if row.tk_toezegging_nummer])
    if signals is None:
        signals = await build_signal_index(session, as_of, thresholds,
                                           themes={t for ts in themes.values() for t in ts}, commitment_ids=ids)

    inputs: dict[uuid.UUID, CommitmentInput] = {}
    current: dict[uuid.UUID, Current] = {}
    for row in commitments:
        cid = row.id
        inputs[cid] = CommitmentInput(
            id=str(cid), due_date=row.due_date, tk_toezegging_nummer=row.tk_toezegging_nummer,
            tk=tk.get(row.tk_toezegging_nummer) if row.tk_toezegging_nummer else None,
            milestones=tuple(sorted(milestones.get(cid, ()), key=lambda m: (m.due_date, m.id))),
            actions=tuple(actions.get(cid, ())),
            signals=signals.counts(cid, themes.get(cid, ()), row.owner_party_id),
            override=overrides.get(cid))
        current[cid] = Current(row.status, row.schedule, row.source_status, row.reasons,
                               stored_milestones.get(cid, {}))
    return Batch(inputs, current)


def _date_of(value: dt.datetime | None) -> dt.date | None:
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value.astimezone(dt.UTC).date()
