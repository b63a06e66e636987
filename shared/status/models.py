"""Stored status history and manual overrides (the current status lives on the commitment itself)."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from shared.db import Base, UTCDateTime, new_id, utcnow


class StatusHistory(Base):
    """One row per change of a commitment's status, schedule or reasons."""

    __tablename__ = "status_history"
    __table_args__ = (Index("ix_status_history_commitment_evaluated", "commitment_id", "evaluated_at"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    commitment_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("commitments.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(30))
    schedule: Mapped[str] = mapped_column(String(20))
    source_status: Mapped[str | None] = mapped_column(String(100))
    reasons: Mapped[list[Any]] = mapped_column(JSON)
    rule_version: Mapped[str] = mapped_column(String(20))
    as_of: Mapped[dt.date]
    evaluated_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class StatusOverride(Base):
    """A person's status for a commitment; wins over the rules until it expires."""

    __tablename__ = "status_overrides"

    commitment_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("commitments.id", ondelete="CASCADE"), primary_key=True
    )
    status: Mapped[str] = mapped_column(String(30))
    reason: Mapped[str] = mapped_column(Text)
    expires_at: Mapped[dt.datetime | None]
    set_by: Mapped[str | None] = mapped_column(String(200))
    set_at: Mapped[dt.datetime] = mapped_column(default=utcnow)


class Checkpoint(Base):
    """How far a periodic job has come (one row per job), e.g. the sweep of newly received client signals."""

    __tablename__ = "job_checkpoints"

    name: Mapped[str] = mapped_column(String(80), primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
