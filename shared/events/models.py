"""The outbox: one row per change, written in the transaction of the change itself (shared/events/service.py)."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import JSON, BigInteger, FetchedValue, Identity, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from shared.db import Base, UTCDateTime


class Event(Base):
    """`id` is a monotonic number (bigint identity on PostgreSQL, the rowid on SQLite). `txid` is the writing
    transaction's id on PostgreSQL (0 on SQLite): the feed is ordered by (txid, id) and only serves
    transactions that can no longer commit (shared/events/repository.py explains why)."""

    __tablename__ = "events"

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer(), "sqlite"), Identity(), primary_key=True
    )
    txid: Mapped[int] = mapped_column(BigInteger, server_default=FetchedValue(), nullable=False)
    type: Mapped[str] = mapped_column(String(40))
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    subject: Mapped[str] = mapped_column(String(300))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    # Who may read it: "public" (whoever may read the records), "signals" (keys with signals:read of this
    # party, or unbound ones), "party" (keys of this party, or unbound ones with write).
    audience: Mapped[str] = mapped_column(String(10), default="public")
    party_id: Mapped[uuid.UUID | None] = mapped_column()

    __table_args__ = (
        Index("ix_events_position", "txid", "id"),
        Index("ix_events_type_position", "type", "txid", "id"),
        Index("ix_events_at", "at"),
    )
