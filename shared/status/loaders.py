"""Loads the rule inputs for a batch of commitments: a fixed number of queries per batch, never per row.

Rows are read with Core selects (plain tuples) because a full run reads every commitment, milestone,
measurement and action; the ORM's identity map would cost more than the rules themselves.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import orjson
from sqlalchemy import String, and_, select, type_coerce
from sqlalchemy.ext.asyncio import AsyncSession

from shared.actions.models import Action
from shared.commitments.models import Commitment, commitment_subject_parties, commitment_themes
from shared.fulfilment.models import Fulfilment
from shared.milestones.models import Direction, Measurement, Milestone
from shared.pg import driver_connection
from shared.status.inputs import (
    ActionInput,
    CommitmentInput,
    FulfilmentInput,
    MeasurementInput,
    MeasurementSummary,
    MilestoneInput,
    OverrideInput,
    RecurrenceInput,
    Thresholds,
)
from shared.status.loaders_signals import SignalIndex, build_signal_index, load_party_refs
from shared.status.loaders_tk import load_tk
from shared.status.models import StatusOverride

C, M, MS, A = Commitment.__table__.c, Milestone.__table__.c, Measurement.__table__.c, Action.__table__.c
F, SP = Fulfilment.__table__.c, commitment_subject_parties.c


@dataclass
class Current:
    """What is stored now, to write only what changed."""

    status: str
    schedule: str
    source_status: str | None
    reasons_digest: str | None
    rule_version: str | None
    milestones: dict[str, tuple[str, str | None]]  # milestone id -> (status, reasons digest)


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


async def load_batch(
    session: AsyncSession,
    ids: Sequence[uuid.UUID] | None,
    as_of: dt.date,
    thresholds: Thresholds,
    *,
    signals: SignalIndex | None = None,
    lock: bool = False,
    id_range: IdRange | None = None,
) -> Batch:
    """Inputs and stored state of the given commitments (by `ids`, or all in `id_range` = (after, up to]).

    `lock` takes row locks on the commitments (PostgreSQL), so two recalculations of one commitment
    serialise and the second one sees the first one's result: no duplicate history entries.

    On PostgreSQL the rows are read through the asyncpg connection itself (no SQLAlchemy row processing)
    and each milestone's measurements come summarised by the database (one row per milestone); on SQLite
    (the embedded default, small data) through SQLAlchemy Core, measurements as points.
    """
    if id_range is None and not ids:
        return Batch({}, {})
    if session.get_bind().dialect.name == "postgresql":
        rows = await _rows_postgresql(session, ids, as_of, lock, id_range)
    else:
        rows = await _rows_sqlalchemy(session, ids, as_of, lock, id_range)
    if not rows.commitments:
        return Batch({}, {})
    commitments, themes = rows.commitments, rows.themes

    tk = await load_tk(session, [row.nummer for row in commitments if row.nummer])
    subjects = rows.subjects
    party_refs = await load_party_refs(
        session,
        [row.owner for row in commitments if row.owner is not None]
        + [p for ps in subjects.values() for p in ps],
    )

    def parties_of(row: CommitmentRow) -> tuple[Any, ...]:
        subject = subjects.get(row.id)
        if not subject:  # the common case: the owner alone
            ref = party_refs.get(row.owner) if row.owner is not None else None
            return (ref,) if ref is not None else ()
        ids = ([row.owner] if row.owner is not None else []) + [p for p in subject if p != row.owner]
        return tuple(party_refs[i] for i in ids if i in party_refs)

    if signals is None:  # a single recalculation: only the signals that can concern these commitments
        signals = await build_signal_index(
            session,
            as_of,
            thresholds,
            themes={t for ts in themes.values() for t in ts},
            parties={p for row in commitments for p in parties_of(row)},
            commitment_ids=[r.id for r in commitments],
        )

    inputs: dict[uuid.UUID, CommitmentInput] = {}
    current: dict[uuid.UUID, Current] = {}
    milestones, actions, overrides, fulfilments = (
        rows.milestones,
        rows.actions,
        rows.overrides,
        rows.fulfilments,
    )
    stored_milestones = rows.stored_milestones
    no_milestones: tuple[MilestoneInput, ...] = ()
    for row in commitments:
        cid = row.id
        own = milestones.get(cid)
        inputs[cid] = CommitmentInput(
            id=str(cid),
            due_date=row.due_date,
            tk_toezegging_nummer=row.nummer,
            tk=tk.get(row.nummer) if row.nummer else None,
            milestones=tuple(sorted(own, key=_milestone_order)) if own else no_milestones,
            actions=tuple(actions.get(cid, ())),
            signals=signals.counts(cid, themes.get(cid, ()), parties_of(row)),
            override=overrides.get(cid),
            fulfilments=tuple(fulfilments.get(cid, ())),
            recurrence=RecurrenceInput(str(row.recurrence_unit), row.recurrence_start)
            if row.recurrence_unit and row.recurrence_start
            else None,
        )
        current[cid] = Current(
            row.status,
            row.schedule,
            row.source_status,
            row.digest,
            row.version,
            stored_milestones.get(cid, {}),
        )
    return Batch(inputs, current)


def _milestone_order(m: MilestoneInput) -> tuple[dt.date, str]:
    return m.due_date, m.id


class CommitmentRow(NamedTuple):
    id: uuid.UUID
    due_date: dt.date | None
    nummer: str | None
    owner: uuid.UUID | None
    status: str
    schedule: str
    source_status: str | None
    digest: str | None
    version: str | None
    recurrence_unit: str | None
    recurrence_start: dt.date | None


@dataclass
class _Rows:
    commitments: list[CommitmentRow]
    themes: dict[uuid.UUID, list[str]] = field(default_factory=dict)
    subjects: dict[uuid.UUID, list[uuid.UUID]] = field(default_factory=dict)
    milestones: dict[uuid.UUID, list[MilestoneInput]] = field(default_factory=dict)
    stored_milestones: dict[uuid.UUID, dict[str, tuple[str, str | None]]] = field(default_factory=dict)
    actions: dict[uuid.UUID, list[ActionInput]] = field(default_factory=dict)
    overrides: dict[uuid.UUID, OverrideInput] = field(default_factory=dict)
    fulfilments: dict[uuid.UUID, list[FulfilmentInput]] = field(default_factory=dict)


def _json(value: Any) -> Any:
    """JSON columns: text from asyncpg, already decoded through SQLAlchemy."""
    return orjson.loads(value) if isinstance(value, (str, bytes)) else value


def _fulfilment(row: Any) -> FulfilmentInput:
    _cid, fid, kind, day, summary, evidence, period_key, review, reviewed_by, note = row
    return FulfilmentInput(
        str(fid),
        str(kind),
        day,
        summary,
        tuple(_json(evidence) or ()),
        dt.date.fromisoformat(period_key) if period_key else None,
        str(review) if review else None,
        reviewed_by,
        note,
    )


def _pg_scope(column: str, id_range: IdRange | None) -> str:
    """$1 = the id array (by ids), or $1, $2 = the range (after, up to]; as_of, when used, comes after."""
    if id_range is None:
        return f"{column} = ANY($1::uuid[])"
    return (
        f"{column} > $1 AND {column} <= $2"
        if id_range[0] is not None
        else f"{column} <= $2 AND $1::uuid IS NULL"
    )


_PG_COMMITMENTS = """
    SELECT c.id, c.due_date, c.tk_toezegging_nummer, c.owner_party_id, c.status, c.schedule, c.source_status,
           c.reasons_digest, c.rule_version, c.recurrence_unit, c.recurrence_start,
           ARRAY(SELECT t.theme_key FROM commitment_themes t WHERE t.commitment_id = c.id) AS themes,
           ARRAY(SELECT p.party_id FROM commitment_subject_parties p WHERE p.commitment_id = c.id) AS subjects
    FROM commitments c WHERE {scope} ORDER BY c.id"""

# A milestone belongs to a commitment directly or through one of its actions (never both). Its measurements
# dated up to as_of come back as one row of sums, x = days from the milestone's due date (see MeasurementSummary),
# with the dates of the latest one, the latest one up to the due date and the first later one reaching the target:
# an index lookup per milestone (measurements are not stored in milestone order, so no scan of the whole table).
_PG_MILESTONES = """
    WITH own AS (
        SELECT m.commitment_id AS cid, m.id, m.title, m.due_date, m.target_value, m.baseline_value,
               m.baseline_date, m.direction, m.status, m.reasons_digest, m.reached_on, m.evidence::text AS evidence
        FROM milestones m WHERE {scope_m}
        UNION ALL
        SELECT a.commitment_id, m.id, m.title, m.due_date, m.target_value, m.baseline_value, m.baseline_date,
               m.direction, m.status, m.reasons_digest, m.reached_on, m.evidence::text
        FROM milestones m JOIN actions a ON a.id = m.action_id WHERE {scope_a}
    )
    SELECT own.cid, own.id, own.title, own.due_date, own.target_value, own.baseline_value, own.baseline_date,
           own.direction, own.status, own.reasons_digest, own.reached_on, own.evidence,
           s.n, s.sx, s.sxx, s.sy, s.sxy, s.latest_date, lm.value, lm.id, s.on_due_date, dm.value, dm.id,
           s.late_date, xm.value, xm.id
    FROM own LEFT JOIN LATERAL (
        SELECT count(*) AS n, sum(x.d) AS sx, sum(x.d::bigint * x.d)::bigint AS sxx, sum(x.value) AS sy,
               sum(x.d * x.value) AS sxy, max(x.date) AS latest_date,
               max(x.date) FILTER (WHERE x.d <= 0) AS on_due_date,
               min(x.date) FILTER (WHERE x.d > 0 AND x.meets) AS late_date
        FROM (SELECT ms.date, ms.value, ms.date - own.due_date AS d,
                     CASE WHEN own.direction = 'decrease' THEN ms.value <= own.target_value
                          ELSE ms.value >= own.target_value END AS meets
              FROM measurements ms WHERE ms.milestone_id = own.id AND ms.date <= ${as_of}) AS x
    ) AS s ON true
    -- the points themselves by (milestone, date), unique: index lookups instead of sorting every series (LIMIT 1
    -- keeps each a lookup per row: flattened into joins they became hash joins over every measurement)
    LEFT JOIN LATERAL (SELECT m.value, m.id FROM measurements m
                       WHERE m.milestone_id = own.id AND m.date = s.latest_date LIMIT 1) AS lm ON true
    LEFT JOIN LATERAL (SELECT m.value, m.id FROM measurements m
                       WHERE s.on_due_date <> s.latest_date AND m.milestone_id = own.id
                             AND m.date = s.on_due_date LIMIT 1) AS dm ON true
    LEFT JOIN LATERAL (SELECT m.value, m.id FROM measurements m
                       WHERE m.milestone_id = own.id AND m.date = s.late_date LIMIT 1) AS xm ON true"""

_PG_ACTIONS = """
    SELECT a.id, a.commitment_id, a.title, a.state, a.last_update_date, a.created_at
    FROM actions a WHERE {scope} ORDER BY a.id"""

_PG_OVERRIDES = """
    SELECT o.commitment_id, o.status, o.reason, o.expires_at, o.set_by, o.set_at
    FROM status_overrides o WHERE {scope}"""

_PG_FULFILMENTS = """
    SELECT f.commitment_id, f.id, f.kind, f.date, f.summary, f.evidence::text, f.period_key, f.review_decision,
           f.reviewed_by, f.review_note
    FROM fulfilments f WHERE {scope} ORDER BY f.commitment_id, f.period_key"""


def _pg_statements(id_range: IdRange | None) -> tuple[str, str, str, str, str]:
    as_of = 2 if id_range is None else 3
    return (
        _PG_COMMITMENTS.format(scope=_pg_scope("c.id", id_range)),
        _PG_MILESTONES.format(
            scope_m=_pg_scope("m.commitment_id", id_range),
            scope_a=_pg_scope("a.commitment_id", id_range),
            as_of=as_of,
        ),
        _PG_ACTIONS.format(scope=_pg_scope("a.commitment_id", id_range)),
        _PG_OVERRIDES.format(scope=_pg_scope("o.commitment_id", id_range)),
        _PG_FULFILMENTS.format(scope=_pg_scope("f.commitment_id", id_range)),
    )


_PG_BY_IDS, _PG_BY_RANGE, _PG_FROM_START = (
    _pg_statements(None),
    _pg_statements((uuid.UUID(int=0), uuid.UUID(int=0))),
    _pg_statements((None, uuid.UUID(int=0))),
)


async def _rows_postgresql(
    session: AsyncSession,
    ids: Sequence[uuid.UUID] | None,
    as_of: dt.date,
    lock: bool,
    id_range: IdRange | None,
) -> _Rows:
    raw = await driver_connection(session)
    scope: tuple[Any, ...]
    if id_range is None:
        statements, scope = _PG_BY_IDS, (list(ids or ()),)
    else:
        statements = _PG_BY_RANGE if id_range[0] is not None else _PG_FROM_START
        scope = id_range
    q_commitments, q_milestones, q_actions, q_overrides, q_fulfilments = statements
    if id_range is not None:
        # Batches of a full run are costed high enough for JIT compilation, which takes longer than the query.
        await raw.execute("SET LOCAL jit = off")
    if lock:
        q_commitments += " FOR UPDATE OF c"
    commitments = []
    themes: dict[uuid.UUID, list[str]] = {}
    subjects: dict[uuid.UUID, list[uuid.UUID]] = {}
    for record in await raw.fetch(q_commitments, *scope):
        commitments.append(CommitmentRow(*record[:11]))
        if record[11]:
            themes[record[0]] = record[11]
        if record[12]:
            subjects[record[0]] = record[12]
    rows = _Rows(commitments, themes, subjects)
    if not commitments:
        return rows
    milestones: dict[uuid.UUID, list[MilestoneInput]] = defaultdict(list)
    stored: dict[uuid.UUID, dict[str, tuple[str, str | None]]] = defaultdict(dict)
    decrease = Direction.decrease.value
    empty = MeasurementSummary(as_of)
    for (
        cid,
        mid,
        title,
        due,
        target,
        base,
        base_date,
        direction,
        status,
        digest,
        reached_on,
        evidence,
        n,
        sx,
        sxx,
        sy,
        sxy,
        *points,
    ) in await raw.fetch(q_milestones, *scope, as_of):
        if (
            points[3] is not None and points[3] == points[0]
        ):  # the latest one is also the latest by the due date
            points[4:6] = points[1:3]
        key = str(mid)
        milestones[cid].append(
            MilestoneInput(
                key,
                title,
                due,
                target,
                base,
                base_date,
                direction == decrease,
                (),
                MeasurementSummary(as_of, n, points[0], points[1], sx, sxx, sy, sxy, *points[2:])
                if n
                else empty,
                reached_on,
                tuple(_json(evidence) or ()),
            )
        )
        stored[cid][key] = (status, digest)
    rows.milestones, rows.stored_milestones = milestones, stored
    actions: dict[uuid.UUID, list[ActionInput]] = defaultdict(list)
    for aid, cid, title, state, last, created in await raw.fetch(q_actions, *scope):
        actions[cid].append(ActionInput(str(aid), title, state, last, _date_of(created)))
    rows.actions = actions
    rows.overrides = {
        r[0]: OverrideInput(r[1], r[2], r[3], r[4], r[5]) for r in await raw.fetch(q_overrides, *scope)
    }
    fulfilments: dict[uuid.UUID, list[FulfilmentInput]] = defaultdict(list)
    for record in await raw.fetch(q_fulfilments, *scope):
        fulfilments[record[0]].append(_fulfilment(record))
    rows.fulfilments = fulfilments
    return rows


async def _rows_sqlalchemy(
    session: AsyncSession,
    ids: Sequence[uuid.UUID] | None,
    as_of: dt.date,
    lock: bool,
    id_range: IdRange | None,
) -> _Rows:
    query = (
        select(
            C.id,
            C.due_date,
            C.tk_toezegging_nummer,
            C.owner_party_id,
            C.status,
            C.schedule,
            C.source_status,
            C.reasons_digest,
            C.rule_version,
            type_coerce(C.recurrence_unit, String),
            C.recurrence_start,
        )
        .where(_scope(C.id, ids, id_range))
        .order_by(C.id)
    )
    if lock:
        query = query.with_for_update(of=Commitment.__table__)
    rows = _Rows([CommitmentRow(*row) for row in (await session.execute(query)).tuples().all()])
    if not rows.commitments:
        return rows

    def scope(column: Any) -> Any:
        return _scope(column, ids, id_range)

    themes: dict[uuid.UUID, list[str]] = defaultdict(list)
    for cid, theme in (
        (
            await session.execute(
                select(commitment_themes.c.commitment_id, commitment_themes.c.theme_key).where(
                    scope(commitment_themes.c.commitment_id)
                )
            )
        )
        .tuples()
        .all()
    ):
        themes[cid].append(theme)
    rows.themes = themes
    subjects: dict[uuid.UUID, list[uuid.UUID]] = defaultdict(list)
    for cid, party in (
        (await session.execute(select(SP.commitment_id, SP.party_id).where(scope(SP.commitment_id))))
        .tuples()
        .all()
    ):
        subjects[cid].append(party)
    rows.subjects = subjects

    # Milestones of the commitment itself and of its actions.
    # Enum columns read as plain strings: the rules compare strings, and per-row enum conversion is costly.
    # Milestone ids also come raw (driver's own type) to match measurements without converting them.
    milestone_cols = (
        M.id,
        M.title,
        M.due_date,
        M.target_value,
        M.baseline_value,
        M.baseline_date,
        type_coerce(M.direction, String),
        M.status,
        M.reasons_digest,
        M.reached_on,
        M.evidence,
        type_coerce(M.id, String),
    )
    milestone_rows = list(
        (await session.execute(select(M.commitment_id, *milestone_cols).where(scope(M.commitment_id))))
        .tuples()
        .all()
    )
    via_actions = Milestone.__table__.join(Action.__table__, M.action_id == A.id)
    milestone_rows += list(
        (
            await session.execute(
                select(A.commitment_id, *milestone_cols)
                .select_from(via_actions)
                .where(scope(A.commitment_id))
            )
        )
        .tuples()
        .all()
    )

    points: dict[Any, list[MeasurementInput]] = defaultdict(list)
    if milestone_rows:
        for source, owner in ((Milestone.__table__, M.commitment_id), (via_actions, A.commitment_id)):
            for raw_mid, day, value, measurement_id in (
                (
                    await session.execute(
                        select(type_coerce(MS.milestone_id, String), MS.date, MS.value, MS.id)
                        .select_from(Measurement.__table__.join(source, MS.milestone_id == M.id))
                        .where(scope(owner), MS.date <= as_of)
                    )
                )
                .tuples()
                .all()
            ):
                points[raw_mid].append(MeasurementInput(day, value, str(measurement_id)))

    milestones: dict[uuid.UUID, list[MilestoneInput]] = defaultdict(list)
    stored_milestones: dict[uuid.UUID, dict[str, tuple[str, str | None]]] = defaultdict(dict)
    for (
        cid,
        mid,
        title,
        due,
        target,
        base,
        base_date,
        direction,
        status,
        digest,
        reached_on,
        evidence,
        raw_mid,
    ) in milestone_rows:
        key = str(mid)
        milestones[cid].append(
            MilestoneInput(
                id=key,
                title=title,
                due_date=due,
                target_value=target,
                baseline_value=base,
                baseline_date=base_date,
                decreasing=direction == Direction.decrease.value,
                measurements=tuple(points.get(raw_mid, ())),
                reached_on=reached_on,
                evidence=tuple(evidence or ()),
            )
        )
        stored_milestones[cid][key] = (status, digest)
    rows.milestones, rows.stored_milestones = milestones, stored_milestones

    actions: dict[uuid.UUID, list[ActionInput]] = defaultdict(list)
    for aid, cid, title, state, last, created in (
        (
            await session.execute(
                select(
                    A.id,
                    A.commitment_id,
                    A.title,
                    type_coerce(A.state, String),
                    A.last_update_date,
                    A.created_at,
                )
                .where(scope(A.commitment_id))
                .order_by(A.id)
            )
        )
        .tuples()
        .all()
    ):
        actions[cid].append(
            ActionInput(
                id=str(aid), title=title, state=state, last_update_date=last, created_date=_date_of(created)
            )
        )
    rows.actions = actions

    ov = StatusOverride.__table__.c
    rows.overrides = {
        row.commitment_id: OverrideInput(row.status, row.reason, row.expires_at, row.set_by, row.set_at)
        for row in (
            await session.execute(
                select(ov.commitment_id, ov.status, ov.reason, ov.expires_at, ov.set_by, ov.set_at).where(
                    scope(ov.commitment_id)
                )
            )
        ).all()
    }
    fulfilments: dict[uuid.UUID, list[FulfilmentInput]] = defaultdict(list)
    for record in (
        (
            await session.execute(
                select(
                    F.commitment_id,
                    F.id,
                    type_coerce(F.kind, String),
                    F.date,
                    F.summary,
                    F.evidence,
                    F.period_key,
                    type_coerce(F.review_decision, String),
                    F.reviewed_by,
                    F.review_note,
                )
                .where(scope(F.commitment_id))
                .order_by(F.commitment_id, F.period_key)
            )
        )
        .tuples()
        .all()
    ):
        fulfilments[record[0]].append(_fulfilment(record))
    rows.fulfilments = fulfilments
    return rows


def _date_of(value: dt.datetime | None) -> dt.date | None:
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value.astimezone(dt.UTC).date()
