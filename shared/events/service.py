"""Writing events: always into the caller's session, so an event commits with its change or not at all (an
event exists if and only if its change committed). Never commits.

An event is a thin notice: type, time, the path of its subject (`/v1/commitments/<id>`) and a small payload
(what changed, never the content of a client signal). Readers fetch the subject for the rest.
"""

from __future__ import annotations

import enum
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession

from shared.db import utcnow
from shared.events.models import Event
from shared.jobs import defer, keyed

FAN_OUT_JOB = (
    "webhooks.fan_out"  # turns new events into webhook deliveries (services/worker/tasks/webhooks.py)
)


class EventType(enum.StrEnum):
    commitment_status_changed = "commitment.status_changed"
    commitment_created = "commitment.created"
    commitment_updated = "commitment.updated"
    commitment_deleted = "commitment.deleted"
    milestone_status_changed = "milestone.status_changed"
    fulfilment_recorded = "fulfilment.recorded"
    fulfilment_reviewed = "fulfilment.reviewed"
    tk_toezegging_changed = "tk.toezegging.changed"
    signals_batch_finished = "signals.batch.finished"
    webhook_disabled = "webhook.disabled"


class Audience(enum.StrEnum):
    public = "public"  # whoever may read the records (every /v1 read)
    signals = "signals"  # keys with signals:read: unbound ones, or bound to `party_id`
    party = "party"  # unbound keys with write, or keys bound to `party_id`


def commitment_path(commitment_id: Any) -> str:
    return f"/v1/commitments/{commitment_id}"


def milestone_path(milestone_id: Any) -> str:
    return f"/v1/milestones/{milestone_id}"


@dataclass(frozen=True)
class NewEvent:
    type: EventType
    subject: str
    payload: Mapping[str, Any] = field(default_factory=dict)
    audience: Audience = Audience.public
    party_id: uuid.UUID | None = None

    def row(self, at: Any) -> dict[str, Any]:
        return {
            "type": str(self.type),
            "at": at,
            "subject": self.subject,
            "payload": dict(self.payload),
            "audience": str(self.audience),
            "party_id": self.party_id,
        }


async def emit(session: AsyncSession, *events: NewEvent) -> None:
    """Add events to the caller's unit of work; the webhook fan-out runs after it commits."""
    await emit_many(session, events)


async def emit_many(session: AsyncSession, events: Iterable[NewEvent]) -> int:
    """One INSERT for all of them (a full status run writes thousands per batch)."""
    now = utcnow()
    rows = [event.row(now) for event in events]
    if rows:
        await session.execute(insert(Event.__table__), rows)
        defer(session, keyed(FAN_OUT_JOB))
    return len(rows)


def status_changed(
    commitment_id: Any, old: tuple[str | None, str | None], new: tuple[str, str], rules: Iterable[str]
) -> NewEvent:
    """`commitment.status_changed`: old and new status and schedule, and the rules of the reasons."""
    return NewEvent(
        EventType.commitment_status_changed,
        commitment_path(commitment_id),
        {
            "commitment_id": str(commitment_id),
            "old_status": old[0],
            "new_status": new[0],
            "old_schedule": old[1],
            "new_schedule": new[1],
            "rules": sorted(set(rules)),
        },
    )


def milestone_status_changed(milestone_id: Any, commitment_id: Any, old: str | None, new: str) -> NewEvent:
    return NewEvent(
        EventType.milestone_status_changed,
        milestone_path(milestone_id),
        {
            "milestone_id": str(milestone_id),
            "commitment_id": str(commitment_id),
            "old_status": old,
            "new_status": new,
        },
    )
