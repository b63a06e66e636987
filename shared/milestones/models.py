from __future__ import annotations

import datetime as dt
import enum
import uuid
from typing import Any

from sqlalchemy import JSON, CheckConstraint, Enum, Float, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from shared.db import Base, TimestampMixin, VersionedMixin, new_id
from shared.people.models import AuthoredMixin, OwnerPersonMixin
from shared.search import TextIndex
from shared.sources.models import ProvenanceMixin


class Direction(enum.StrEnum):
    increase = "increase"
    decrease = "decrease"


class Milestone(OwnerPersonMixin, AuthoredMixin, ProvenanceMixin, VersionedMixin, Base):
    __tablename__ = "milestones"
    __table_args__ = (CheckConstraint("(commitment_id IS NULL) <> (action_id IS NULL)", name="one_parent"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    key: Mapped[str | None] = mapped_column(String(80), unique=True)
    title: Mapped[str] = mapped_column(String(500))
    description: Mapped[str | None] = mapped_column(Text)
    commitment_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("commitments.id", ondelete="CASCADE"), index=True
    )
    action_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("actions.id", ondelete="CASCADE"), index=True
    )
    due_date: Mapped[dt.date] = mapped_column(index=True)
    indicator_unit: Mapped[str | None] = mapped_column(String(60))
    baseline_value: Mapped[float | None] = mapped_column(Float)
    baseline_date: Mapped[dt.date | None]
    target_value: Mapped[float | None] = mapped_column(Float)
    direction: Mapped[Direction | None] = mapped_column(Enum(Direction, native_enum=False, length=10))
    # A milestone without an indicator is reached on a date, with evidence (url / tk_document_nummer / source_id).
    reached_on: Mapped[dt.date | None]
    evidence: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)
    # Written only by the status engine: pending | on_track | at_risk | met | missed, and why.
    status: Mapped[str] = mapped_column(String(20), default="pending", server_default="pending")
    reasons: Mapped[list[Any] | None] = mapped_column(JSON)
    reasons_digest: Mapped[str | None] = mapped_column(String(64))

    measurements: Mapped[list[Measurement]] = relationship(
        back_populates="milestone",
        order_by="Measurement.date",
        lazy="selectin",
        cascade="all, delete-orphan",
        passive_deletes=True,
    )


class Measurement(AuthoredMixin, ProvenanceMixin, TimestampMixin, Base):
    __tablename__ = "measurements"
    __table_args__ = (UniqueConstraint("milestone_id", "date"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    key: Mapped[str | None] = mapped_column(String(80), unique=True)
    milestone_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("milestones.id", ondelete="CASCADE"), index=True
    )
    date: Mapped[dt.date]
    value: Mapped[float] = mapped_column(Float)
    note: Mapped[str | None] = mapped_column(Text)

    milestone: Mapped[Milestone] = relationship(back_populates="measurements")


# What `q` searches (shared/search.py); the indexes behind it: migrations/versions/0012_list_indexes.py.
MILESTONE_SEARCH = TextIndex(Milestone, ('title', 'description'))
