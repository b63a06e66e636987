"""Fulfilment records: the promiser records its claim with evidence; the party the commitment was made to (or an
admin) accepts or rejects it. Every write recalculates the commitment (after commit). Never commits."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from shared.commitments.events import commitment_changed
from shared.commitments.models import Commitment
from shared.db import utcnow
from shared.errors import Forbidden, NotFound, ValidationFailed, field_error
from shared.events.service import EventType, NewEvent, commitment_path, emit
from shared.fulfilment.models import Fulfilment
from shared.fulfilment.repository import FulfilmentRepository
from shared.fulfilment.schemas import stored_evidence
from shared.pagination import Page
from shared.people.models import Acting, stamp
from shared.status.periods import is_period_start, period, periods
from shared.status.service import today


class FulfilmentService:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.repo = FulfilmentRepository(session)

    async def commitment(self, commitment_id: uuid.UUID) -> Commitment:
        found = await self.session.get(Commitment, commitment_id)
        if found is None:
            raise NotFound(f"No commitment with id {commitment_id}.")
        return found

    def period_key(
        self,
        commitment: Commitment,
        period_start: dt.date | None,
        *,
        loc: list[str | int],
        default_current: bool = False,
    ) -> str:
        """'' for a commitment that does not recur; the ISO start of one of its periods when it does."""
        unit, start = commitment.recurrence_unit, commitment.recurrence_start
        if unit is None or start is None:
            if period_start is not None:
                raise ValidationFailed(
                    "This commitment does not recur: its fulfilment record has no period.",
                    [field_error(loc, "only for recurring commitments")],
                )
            return ""
        if period_start is None:
            if default_current:
                begun = periods(str(unit), start, today(), commitment.due_date)
                if begun:
                    return begun[-1].start.isoformat()
            raise ValidationFailed(
                "This commitment recurs: name the period (its start date).",
                [field_error(loc, f"required: the start of a {unit} period from {start}")],
            )
        if not is_period_start(str(unit), start, period_start):
            first = period(str(unit), start, 0)
            raise ValidationFailed(
                f"{period_start} is not the start of a period of this commitment (periods of one {unit} from "
                f"{first.start}).",
                [field_error(loc, "not the start of a period", "period")],
            )
        if commitment.due_date is not None and period_start > commitment.due_date:
            raise ValidationFailed(
                "That period begins after the commitment's due date, which ends the series.",
                [field_error(loc, "after the end of the series", "period")],
            )
        return period_start.isoformat()

    async def put(
        self, commitment_id: uuid.UUID, data: dict[str, Any], actor: Acting
    ) -> tuple[Fulfilment, bool]:
        """Record (or replace) the claim for the commitment or one of its periods. A replaced claim needs a new
        review: the old decision was about other evidence."""
        commitment = await self.commitment(commitment_id)
        key = self.period_key(commitment, data.get("period_start"), loc=["body", "period_start"])
        if key and dt.date.fromisoformat(key) > today():
            raise ValidationFailed(
                "That period has not begun yet.",
                [field_error(["body", "period_start"], "in the future", "period")],
            )
        evidence = stored_evidence(data["evidence"])
        record = await self.repo.for_period(commitment_id, key)
        created = record is None
        if record is None:
            record = Fulfilment(commitment_id=commitment_id, period_key=key)
            self.repo.add(record)
        record.kind, record.date, record.summary = data["kind"], data["date"], data["summary"]
        record.evidence, record.recorded_by = evidence, actor.name
        stamp(record, actor, created=created)
        record.review_decision = record.review_note = record.reviewed_by = record.reviewed_at = None
        await self.repo.flush()
        await self.session.refresh(record)
        commitment_changed(self.session, commitment_id)
        await emit(self.session, _event(EventType.fulfilment_recorded, record, claim=str(record.kind)))
        return record, created

    async def get(self, commitment_id: uuid.UUID, period_start: dt.date | None) -> Fulfilment:
        commitment = await self.commitment(commitment_id)
        key = self.period_key(commitment, period_start, loc=["query", "period"], default_current=True)
        record = await self.repo.for_period(commitment_id, key)
        if record is None:
            which = f" for the period starting {key}" if key else ""
            raise NotFound(f"Commitment {commitment_id} has no fulfilment record{which}.")
        return record

    async def list(
        self, commitment_id: uuid.UUID, *, sort: str | None, cursor: str | None, limit: int
    ) -> Page[Fulfilment]:
        await self.commitment(commitment_id)
        rows, next_cursor = await self.repo.list(
            [Fulfilment.commitment_id == commitment_id], sort=sort, cursor=cursor, limit=limit
        )
        return Page(items=rows, next_cursor=next_cursor)

    async def delete(self, commitment_id: uuid.UUID, period_start: dt.date | None) -> None:
        """Withdraw a claim; the commitment is judged again without it."""
        record = await self.get(commitment_id, period_start)
        await self.repo.delete(record)
        await self.repo.flush()
        commitment_changed(self.session, commitment_id)

    async def review(
        self,
        commitment_id: uuid.UUID,
        period_start: dt.date | None,
        *,
        decision: str,
        note: str | None,
        reviewer: Acting,
        admin: bool,
    ) -> Fulfilment:
        """The party the commitment was made to (or an admin) accepts or rejects the claim."""
        commitment = await self.commitment(commitment_id)
        if not admin and (
            commitment.made_to_party_id is None or reviewer.party_id != commitment.made_to_party_id
        ):
            who = (
                f"a key of party {commitment.made_to_party_id} (made_to)"
                if commitment.made_to_party_id
                else "an admin key (this commitment names no made_to party)"
            )
            raise Forbidden(
                f"Only the party the commitment was made to, or an admin, may review its fulfilment: "
                f"use {who}.",
                reviewer_party_id=str(commitment.made_to_party_id) if commitment.made_to_party_id else None,
            )
        record = await self.get(commitment_id, period_start)
        record.review_decision, record.review_note = decision, note  # type: ignore[assignment]
        record.reviewed_by, record.reviewed_at = reviewer.name, utcnow()
        stamp(record, reviewer, created=False)
        await self.repo.flush()
        await self.session.refresh(record)
        commitment_changed(self.session, commitment_id)
        await emit(self.session, _event(EventType.fulfilment_reviewed, record, decision=decision))
        return record


def period_end(commitment: Commitment, record: Fulfilment) -> dt.date | None:
    start = record.period_start
    if start is None or commitment.recurrence_unit is None or commitment.recurrence_start is None:
        return None
    found = next(
        (
            p
            for p in periods(str(commitment.recurrence_unit), commitment.recurrence_start, start, None)
            if p.start == start
        ),
        None,
    )
    return found.end if found else None


def _event(type_: EventType, record: Fulfilment, **extra: Any) -> NewEvent:
    """Subject: the commitment's fulfilment record (of the period, for a recurring commitment)."""
    path = f"{commitment_path(record.commitment_id)}/fulfilment"
    if record.period_key:
        path += f"?period={record.period_key}"
    return NewEvent(
        type_,
        path,
        {
            "commitment_id": str(record.commitment_id),
            "fulfilment_id": str(record.id),
            "period_start": record.period_key or None,
            **extra,
        },
    )
