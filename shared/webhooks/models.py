"""Webhook subscriptions and their deliveries (one row per event and subscription, kept through retries)."""

from __future__ import annotations

import datetime as dt
import enum
import uuid
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, Enum, ForeignKey, Index, Integer, String, text
from sqlalchemy.orm import Mapped, mapped_column

from shared.db import Base, UTCDateTime, VersionedMixin, new_id, utcnow


class DeliveryStatus(enum.StrEnum):
    pending = "pending"  # waiting for its (next) attempt
    succeeded = "succeeded"  # the receiver answered 2xx
    failed = "failed"  # every attempt of the retry schedule failed (the webhook was disabled)


class Webhook(VersionedMixin, Base):
    __tablename__ = "webhooks"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    url: Mapped[str] = mapped_column(String(2000))
    event_types: Mapped[list[Any]] = mapped_column(JSON, default=list)  # empty: every type
    # The signing key (`whsec_` + base64): HMAC needs it in the clear; it is shown once, at creation.
    secret: Mapped[str] = mapped_column(String(100))
    description: Mapped[str | None] = mapped_column(String(500))
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    disabled_reason: Mapped[str | None] = mapped_column(String(500))
    # What the subscription may receive: the events its creating key could read (shared/events/access.py).
    party_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("parties.id", ondelete="CASCADE"), index=True
    )
    signals: Mapped[bool] = mapped_column(Boolean, default=False)  # the creating key had signals:read
    key_id: Mapped[uuid.UUID | None] = mapped_column()


class WebhookDelivery(Base):
    __tablename__ = "webhook_deliveries"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    webhook_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("webhooks.id", ondelete="CASCADE"))
    event_id: Mapped[int | None] = mapped_column(BigInteger)  # None for a test delivery
    event_type: Mapped[str] = mapped_column(String(40))
    subject: Mapped[str] = mapped_column(String(300))
    status: Mapped[DeliveryStatus] = mapped_column(
        Enum(DeliveryStatus, native_enum=False, length=20, values_callable=lambda e: [m.value for m in e]),
        default=DeliveryStatus.pending,
    )
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    last_attempt_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    last_status_code: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (
        Index("ix_webhook_deliveries_due", "webhook_id", "status", "next_attempt_at"),
        Index("ix_webhook_deliveries_list", "webhook_id", "created_at", "id"),
        Index(
            "ix_webhook_deliveries_pending",
            "next_attempt_at",
            postgresql_where=text("status = 'pending'"),
            sqlite_where=text("status = 'pending'"),
        ),
    )


class WebhookFeedState(Base):
    """Where the fan-out stands in the event feed: (txid, id) of the last event turned into deliveries."""

    __tablename__ = "webhook_feed_state"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)  # always 1
    txid: Mapped[int] = mapped_column(BigInteger, default=0)
    event_id: Mapped[int] = mapped_column(BigInteger, default=0)
