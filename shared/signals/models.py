"""Client signals: complaints, signals of dissatisfaction, incidents and calamities about care.

Never holds a BSN or a plain client reference: only a keyed pseudonym with its key version.
"""

from __future__ import annotations

import datetime as dt
import enum
import uuid

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Date,
    Enum,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from shared.db import Base, TimestampMixin, UTCDateTime, new_id


class SignalKind(enum.StrEnum):
    klacht = "klacht"
    signaal = "signaal"
    incident = "incident"
    calamiteit = "calamiteit"
    geweld = "geweld"


class SignalChannel(enum.StrEnum):
    telefoon = "telefoon"
    email = "email"
    brief = "brief"
    webformulier = "webformulier"
    persoonlijk = "persoonlijk"
    app = "app"
    sociale_media = "sociale_media"
    anders = "anders"


class SignalSeverity(enum.StrEnum):
    laag = "laag"
    middel = "middel"
    hoog = "hoog"
    ernstig = "ernstig"


class SignalStatus(enum.StrEnum):
    ontvangen = "ontvangen"
    in_behandeling = "in_behandeling"
    oordeel = "oordeel"
    afgesloten = "afgesloten"
    doorgezet = "doorgezet"


class SignalOutcome(enum.StrEnum):
    gegrond = "gegrond"
    deels_gegrond = "deels_gegrond"
    ongegrond = "ongegrond"
    bemiddeld = "bemiddeld"
    ingetrokken = "ingetrokken"
    doorverwezen = "doorverwezen"
    geen_oordeel = "geen_oordeel"


class ReporterRole(enum.StrEnum):
    client = "client"
    naaste = "naaste"
    vertegenwoordiger = "vertegenwoordiger"
    medewerker = "medewerker"
    zorgkantoor = "zorgkantoor"
    gemeente = "gemeente"
    clientenraad = "clientenraad"
    anders = "anders"


def _enum(cls: type[enum.Enum], length: int = 40) -> Enum:
    return Enum(cls, native_enum=False, length=length, values_callable=lambda e: [m.value for m in e])


client_signal_themes = Table(
    "client_signal_themes",
    Base.metadata,
    Column("signal_id", ForeignKey("client_signals.id", ondelete="CASCADE"), primary_key=True),
    Column("theme_key", ForeignKey("themes.key", ondelete="RESTRICT"), primary_key=True),
    # Copied from the signal so theme statistics over a period are one index-only scan.
    Column("received_date", Date, nullable=False),
    Index("ix_client_signal_themes_theme_key_received_date", "theme_key", "received_date"),
    Index("ix_client_signal_themes_received_date_theme_key", "received_date", "theme_key"),
)

client_signal_commitments = Table(
    "client_signal_commitments",
    Base.metadata,
    Column("signal_id", ForeignKey("client_signals.id", ondelete="CASCADE"), primary_key=True),
    Column("commitment_id", ForeignKey("commitments.id", ondelete="CASCADE"), primary_key=True, index=True),
)


class ClientSignal(TimestampMixin, Base):
    __tablename__ = "client_signals"
    __table_args__ = (
        UniqueConstraint("source_system", "external_id"),
        Index("ix_client_signals_zorgkantoor_code_received_date", "zorgkantoor_code", "received_date"),
        Index("ix_client_signals_provider_agb_received_date", "provider_agb", "received_date"),
        Index("ix_client_signals_received_date_location", "received_date", "location"),
        Index("ix_client_signals_created_at", "created_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    source_system: Mapped[str] = mapped_column(String(100))
    external_id: Mapped[str] = mapped_column(String(200))
    kind: Mapped[SignalKind] = mapped_column(_enum(SignalKind, 20))
    channel: Mapped[SignalChannel | None] = mapped_column(_enum(SignalChannel, 20))
    severity: Mapped[SignalSeverity | None] = mapped_column(_enum(SignalSeverity, 20))
    received_date: Mapped[dt.date] = mapped_column(Date, index=True)
    occurred_date: Mapped[dt.date | None] = mapped_column(Date)
    provider_agb: Mapped[str | None] = mapped_column(String(8))
    provider_party_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("parties.id", ondelete="SET NULL"), index=True
    )
    location: Mapped[str | None] = mapped_column(String(200))
    zorgkantoor_code: Mapped[str | None] = mapped_column(String(4))
    reporter_role: Mapped[ReporterRole | None] = mapped_column(_enum(ReporterRole, 30))
    anonymous: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[SignalStatus] = mapped_column(_enum(SignalStatus, 20), default=SignalStatus.ontvangen)
    outcome: Mapped[SignalOutcome | None] = mapped_column(_enum(SignalOutcome, 20))
    client_pseudonym: Mapped[str | None] = mapped_column(String(64), index=True)
    pseudonym_key_version: Mapped[int | None] = mapped_column(Integer)
    summary: Mapped[str | None] = mapped_column(Text)
    judgement_due_date: Mapped[dt.date | None] = mapped_column(Date)
    extension_recorded: Mapped[bool] = mapped_column(Boolean, default=False)
    retention_date: Mapped[dt.date] = mapped_column(Date, index=True)
    batch_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("signal_batches.id", ondelete="SET NULL"), index=True
    )
    # The ETag; raised by every PATCH (a guarded UPDATE ... WHERE version = the one read).
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")

    themes: Mapped[list[Theme]] = relationship(
        secondary=client_signal_themes, lazy="selectin", order_by="Theme.key", viewonly=True
    )
    commitments: Mapped[list[Commitment]] = relationship(
        secondary=client_signal_commitments, lazy="selectin", viewonly=True
    )


class BatchStatus(enum.StrEnum):
    pending = "pending"
    processing = "processing"
    done = "done"
    failed = "failed"


class SignalBatch(TimestampMixin, Base):
    """An uploaded NDJSON/CSV batch, stored durably before the 202 and processed resumably by the worker."""

    __tablename__ = "signal_batches"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    format: Mapped[str] = mapped_column(String(10))
    status: Mapped[BatchStatus] = mapped_column(_enum(BatchStatus, 20), default=BatchStatus.pending)
    # The raw upload; cleared once processed (it may hold personal data we no longer need). Up to 64 MB, so not
    # loaded with the row (a progress poll or a chunk's lock read it whole): the processing job asks for it once.
    body: Mapped[bytes | None] = mapped_column(LargeBinary, deferred=True, deferred_raiseload=True)
    total_lines: Mapped[int] = mapped_column(Integer, default=0)
    processed_lines: Mapped[int] = mapped_column(Integer, default=0)
    accepted: Mapped[int] = mapped_column(Integer, default=0)
    duplicate: Mapped[int] = mapped_column(Integer, default=0)
    rejected: Mapped[int] = mapped_column(Integer, default=0)
    key_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("api_keys.id", ondelete="SET NULL"), index=True
    )
    party_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("parties.id", ondelete="SET NULL"), index=True
    )
    request_id: Mapped[str | None] = mapped_column(String(128))
    finished_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    failure: Mapped[str | None] = mapped_column(String(500))


class SignalBatchError(Base):
    __tablename__ = "signal_batch_errors"

    batch_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("signal_batches.id", ondelete="CASCADE"), primary_key=True
    )
    line: Mapped[int] = mapped_column(Integer, primary_key=True)
    errors: Mapped[list[dict]] = mapped_column(JSON)


class SignalCount(Base):
    """Monthly counts per dimension value, per theme ('*' = all themes): what /stats reads for whole months
    that have not changed since the last refresh (see shared/signals/rollup.py)."""

    __tablename__ = "client_signal_counts"

    dimension: Mapped[str] = mapped_column(
        String(20), primary_key=True
    )  # provider | location | zorgkantoor | total
    theme_key: Mapped[str] = mapped_column(String(60), primary_key=True)  # '*' for all signals
    month: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    value: Mapped[str] = mapped_column(String(200), primary_key=True)  # '' for signals without one
    n: Mapped[int] = mapped_column(Integer)


class SignalCountState(Base):
    __tablename__ = "client_signal_count_state"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # Signals created after (refreshed_at - margin) may be missing from the counts: their months are read raw.
    refreshed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


from shared.commitments.models import Commitment  # noqa: E402
from shared.themes.models import Theme  # noqa: E402
