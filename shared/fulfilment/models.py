from __future__ import annotations

import datetime as dt
import enum
import uuid
from typing import Any

from sqlalchemy import JSON, Enum, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from shared.db import Base, UTCDateTime, VersionedMixin, new_id
from shared.people.models import AuthoredMixin


class FulfilmentKind(enum.StrEnum):
    fulfilled = "fulfilled"
    partially_fulfilled = "partially_fulfilled"


class ReviewDecision(enum.StrEnum):
    accepted = "accepted"
    rejected = "rejected"


def _enum(cls: type[enum.Enum]) -> Enum:
    return Enum(cls, native_enum=False, length=30, values_callable=lambda e: [m.value for m in e])


class Fulfilment(AuthoredMixin, VersionedMixin, Base):
    """One claim per commitment, or per period of a recurring commitment (`period_key` = the period's start
    date in ISO form; '' when the commitment does not recur, so the unique constraint also holds there)."""

    __tablename__ = "fulfilments"
    __table_args__ = (UniqueConstraint("commitment_id", "period_key"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    commitment_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("commitments.id", ondelete="CASCADE"), index=True
    )
    period_key: Mapped[str] = mapped_column(String(10), default="")
    kind: Mapped[FulfilmentKind] = mapped_column(_enum(FulfilmentKind))
    date: Mapped[dt.date]
    summary: Mapped[str] = mapped_column(Text)
    evidence: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    recorded_by: Mapped[str | None] = mapped_column(String(200))
    review_decision: Mapped[ReviewDecision | None] = mapped_column(_enum(ReviewDecision))
    review_note: Mapped[str | None] = mapped_column(Text)
    reviewed_by: Mapped[str | None] = mapped_column(String(200))
    reviewed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    @property
    def period_start(self) -> dt.date | None:
        return dt.date.fromisoformat(self.period_key) if self.period_key else None
