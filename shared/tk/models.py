"""Local mirror of the Tweede Kamer SyncFeed, plus the sync bookkeeping.

References between TK entities are stored as plain GUIDs without foreign keys: the feed delivers
them in any order (a toezegging may arrive before its activiteit), and we never hard-delete.
"""

from __future__ import annotations

import datetime as dt
import enum
import uuid

from sqlalchemy import BigInteger, Column, Enum, ForeignKey, Index, Integer, String, Table, Text, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from shared.db import Base, new_id, utcnow


class StatusNormalised(enum.StrEnum):
    open = "open"
    fulfilled = "fulfilled"
    partially_fulfilled = "partially_fulfilled"
    lapsed = "lapsed"
    unknown = "unknown"


class SyncRunStatus(enum.StrEnum):
    running = "running"
    succeeded = "succeeded"
    failed = "failed"
    abandoned = "abandoned"


class TkEntityMixin:
    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    bijgewerkt: Mapped[dt.datetime] = mapped_column(nullable=False)
    verwijderd: Mapped[bool] = mapped_column(default=False, nullable=False)
    # Feed position of the version we hold (diagnostics; not used for ordering).
    skiptoken: Mapped[int | None] = mapped_column(BigInteger)
    synced_at: Mapped[dt.datetime] = mapped_column(default=utcnow, nullable=False)


class TkToezegging(TkEntityMixin, Base):
    __tablename__ = "tk_toezeggingen"

    nummer: Mapped[str | None] = mapped_column(String(40), index=True)
    tekst: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str | None] = mapped_column(String(100))
    status_normalised: Mapped[StatusNormalised] = mapped_column(
        Enum(StatusNormalised, native_enum=False, length=30), default=StatusNormalised.unknown, nullable=False
    )
    datum_nakoming: Mapped[dt.date | None]
    kamerbrief_nakoming: Mapped[str | None] = mapped_column(String(40), index=True)
    kamerbrief_document_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    ministerie: Mapped[str | None] = mapped_column(String(300), index=True)
    activiteit_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    activiteit_nummer: Mapped[str | None] = mapped_column(String(40))
    aanmaakdatum: Mapped[dt.datetime | None]
    naam: Mapped[str | None] = mapped_column(String(300))
    functie: Mapped[str | None] = mapped_column(String(200))

    __table_args__ = (Index("ix_tk_toezeggingen_bijgewerkt", "bijgewerkt"),)


class TkDocument(TkEntityMixin, Base):
    __tablename__ = "tk_documents"

    nummer: Mapped[str | None] = mapped_column(String(40), index=True)
    titel: Mapped[str | None] = mapped_column(Text)
    onderwerp: Mapped[str | None] = mapped_column(Text)
    datum: Mapped[dt.date | None]
    soort: Mapped[str | None] = mapped_column(String(200))
    organisatie: Mapped[str | None] = mapped_column(String(300))
    vergaderjaar: Mapped[str | None] = mapped_column(String(20))
    volgnummer: Mapped[int | None] = mapped_column(Integer)
    content_type: Mapped[str | None] = mapped_column(String(200))
    content_length: Mapped[int | None] = mapped_column(BigInteger)
    kamerstukdossier_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, index=True)
    bron_document_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)


# document -> zaak is many-to-many in the schema (maxOccurs unbounded).
tk_document_zaken = Table(
    "tk_document_zaken",
    Base.metadata,
    Column("document_id", Uuid, ForeignKey("tk_documents.id", ondelete="CASCADE"), primary_key=True),
    Column("zaak_id", Uuid, primary_key=True, index=True),
)


class TkZaak(TkEntityMixin, Base):
    __tablename__ = "tk_zaken"

    nummer: Mapped[str | None] = mapped_column(String(40), index=True)
    soort: Mapped[str | None] = mapped_column(String(200))
    titel: Mapped[str | None] = mapped_column(Text)
    onderwerp: Mapped[str | None] = mapped_column(Text)
    organisatie: Mapped[str | None] = mapped_column(String(300))
    status: Mapped[str | None] = mapped_column(String(100))
    afgedaan: Mapped[bool | None]
    gestart_op: Mapped[dt.date | None]
    kamerstukdossier_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, index=True)


class TkActiviteit(TkEntityMixin, Base):
    __tablename__ = "tk_activiteiten"

    nummer: Mapped[str | None] = mapped_column(String(40), index=True)
    soort: Mapped[str | None] = mapped_column(String(200))
    onderwerp: Mapped[str | None] = mapped_column(Text)
    datum: Mapped[dt.date | None]
    status: Mapped[str | None] = mapped_column(String(100))
    voortouwafkorting: Mapped[str | None] = mapped_column(String(100))


class TkKamerstukdossier(TkEntityMixin, Base):
    __tablename__ = "tk_kamerstukdossiers"

    nummer: Mapped[str | None] = mapped_column(String(40), index=True)
    toevoeging: Mapped[str | None] = mapped_column(String(40))
    titel: Mapped[str | None] = mapped_column(Text)
    afgesloten: Mapped[bool | None]


class TkSyncState(Base):
    """Per-category checkpoint, written in the same transaction as the page it follows."""

    __tablename__ = "tk_sync_state"

    category: Mapped[str] = mapped_column(String(40), primary_key=True)
    skiptoken: Mapped[int | None] = mapped_column(BigInteger)
    last_success_at: Mapped[dt.datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    last_error_at: Mapped[dt.datetime | None]
    pages: Mapped[int] = mapped_column(BigInteger, default=0, nullable=False)
    entries: Mapped[int] = mapped_column(BigInteger, default=0, nullable=False)
    upserts: Mapped[int] = mapped_column(BigInteger, default=0, nullable=False)
    deletes: Mapped[int] = mapped_column(BigInteger, default=0, nullable=False)
    skipped_older: Mapped[int] = mapped_column(BigInteger, default=0, nullable=False)
    skipped_irrelevant: Mapped[int] = mapped_column(BigInteger, default=0, nullable=False)
    unknown_status: Mapped[int] = mapped_column(BigInteger, default=0, nullable=False)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow, nullable=False)


class TkSyncRun(Base):
    """One run of one category (created when the run starts, closed when it ends)."""

    __tablename__ = "tk_sync_runs"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    category: Mapped[str] = mapped_column(String(40), index=True)
    trigger: Mapped[str] = mapped_column(String(40), default="manual")
    status: Mapped[SyncRunStatus] = mapped_column(
        Enum(SyncRunStatus, native_enum=False, length=20), default=SyncRunStatus.running, nullable=False
    )
    started_at: Mapped[dt.datetime] = mapped_column(default=utcnow, nullable=False, index=True)
    finished_at: Mapped[dt.datetime | None]
    start_token: Mapped[int | None] = mapped_column(BigInteger)
    end_token: Mapped[int | None] = mapped_column(BigInteger)
    pages: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    entries: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    upserts: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    deletes: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    skipped_older: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    skipped_irrelevant: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    unknown_status: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    errors: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    error: Mapped[str | None] = mapped_column(Text)
