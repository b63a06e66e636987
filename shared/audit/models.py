from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import JSON, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from shared.db import Base, UTCDateTime, new_id, utcnow


class AuditEntry(Base):
    """Append-only record of an access to sensitive data (NEN 7513: who, on whose behalf, what, when)."""

    __tablename__ = "audit_log"
    __table_args__ = (Index("ix_audit_log_commitment_id_at", "commitment_id", "at"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    actor: Mapped[str] = mapped_column(String(200))
    key_id: Mapped[uuid.UUID | None] = mapped_column(index=True)  # no FK: the log outlives revoked keys
    # An OAuth2 client's client_id, or the subject a person's token names (issuer-qualified): who beside key_id.
    client_id: Mapped[str | None] = mapped_column(String(64))
    subject: Mapped[str | None] = mapped_column(String(300))
    party_id: Mapped[uuid.UUID | None] = mapped_column()
    action: Mapped[str] = mapped_column(String(60), index=True)
    resource: Mapped[str] = mapped_column(String(60))
    record_ids: Mapped[list[str]] = mapped_column(JSON, default=list)
    record_count: Mapped[int] = mapped_column(Integer, default=0)
    request_id: Mapped[str | None] = mapped_column(String(128))
    detail: Mapped[dict | None] = mapped_column(JSON)
    # The commitment a write belongs to (GET /v1/commitments/{id}/changes); null for everything else.
    commitment_id: Mapped[uuid.UUID | None] = mapped_column()
