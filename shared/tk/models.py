"""Local mirror of the Tweede Kamer SyncFeed, plus the sync bookkeeping.

References between TK entities are stored as plain GUIDs without foreign keys: the feed delivers
them in any order (a toezegging may arrive before its activiteit), and we never hard-delete.
"""

from __future__ import annotations

import datetime as dt
import enum
import uuid
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Enum,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
    Uuid,
    false,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Mapped, mapped_column

from shared.db import Base, new_id, utcnow
from shared.search import TextIndex


class StatusNormalised(enum.StrEnum):
    open = "open"
    fulfilled = "fulfilled"
    partially_fulfilled = "partially_fulfilled"
    lapsed = "lapsed"
    unknown = "unknown"


class Origin(enum.StrEnum):
    """Where a mirrored entity came from: the bundled illustrative snapshot, or the parliament's live feed."""

    sample = "sample"
    feed = "feed"


# JSONB on PostgreSQL so that `IS DISTINCT FROM` can compare values (the material-change test of an upsert).
JSONValue = JSON().with_variant(postgresql.JSONB(), "postgresql")


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
    origin: Mapped[str] = mapped_column(
        String(10), default=Origin.feed.value, server_default=Origin.feed.value, nullable=False
    )
    # Reference elements the columns do not hold (unknown ones such as `toegezegdAan`, repeats of
    # single-valued ones), raw and in feed order: [{"element": name, "ref": value}, ...]; NULL when none.
    relations: Mapped[list[Any] | None] = mapped_column(JSONValue)


class TkToezegging(TkEntityMixin, Base):
    __tablename__ = "tk_toezeggingen"

    nummer: Mapped[str | None] = mapped_column(String(40), index=True)
    tekst: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str | None] = mapped_column(String(100))
    status_normalised: Mapped[StatusNormalised] = mapped_column(
        Enum(StatusNormalised, native_enum=False, length=30), default=StatusNormalised.unknown, nullable=False
    )
    datum_nakoming: Mapped[dt.date | None]
    kamerbrief_nakoming: Mapped[str | None] = mapped_column(String(40), index=True)  # the first letter
    # Every kamerbriefNakoming in feed order (the live feed sends several; the XSD allows one).
    kamerbrieven_nakoming: Mapped[list[Any] | None] = mapped_column(JSONValue)
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


# Every letter a toezegging names, for lookups by document nummer (relevance, resolving, fetching).
tk_toezegging_brieven = Table(
    "tk_toezegging_brieven",
    Base.metadata,
    Column("toezegging_id", Uuid, ForeignKey("tk_toezeggingen.id", ondelete="CASCADE"), primary_key=True),
    Column("nummer", String(40), primary_key=True, index=True),
)


class TkDocumentIndex(Base):
    """Thin index of every Document the feed sent, kept or skipped: enough to find a skipped one again by its
    nummer, dossier or zaak and fetch it by id when it becomes relevant later."""

    __tablename__ = "tk_document_index"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    nummer: Mapped[str | None] = mapped_column(String(40), index=True)
    kamerstukdossier_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, index=True)
    bijgewerkt: Mapped[dt.datetime] = mapped_column(nullable=False)
    verwijderd: Mapped[bool] = mapped_column(default=False, nullable=False)


# Zaak references of skipped documents only (kept ones have tk_document_zaken).
tk_document_index_zaken = Table(
    "tk_document_index_zaken",
    Base.metadata,
    Column("document_id", Uuid, ForeignKey("tk_document_index.id", ondelete="CASCADE"), primary_key=True),
    Column("zaak_id", Uuid, primary_key=True, index=True),
)


class TkDocumentFetch(Base):
    """A skipped document that became relevant: fetched by id at the end of this run or a later one."""

    __tablename__ = "tk_document_fetches"

    document_id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True)
    reason: Mapped[str] = mapped_column(String(200), nullable=False)
    requested_at: Mapped[dt.datetime] = mapped_column(default=utcnow, nullable=False)
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0", nullable=False)
    last_error: Mapped[str | None] = mapped_column(Text)
    last_attempt_at: Mapped[dt.datetime | None]


class TkQuarantine(Base):
    """An entity the parser could not read, kept raw with the reason; its page and category went on."""

    __tablename__ = "tk_quarantine"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=new_id)
    category: Mapped[str] = mapped_column(String(40), nullable=False)
    skiptoken: Mapped[int] = mapped_column(BigInteger, nullable=False)
    entity_id: Mapped[str | None] = mapped_column(String(100))  # as sent (it may be the unreadable part)
    kind: Mapped[str | None] = mapped_column(String(40))
    reason: Mapped[str] = mapped_column(Text, nullable=False)
    raw: Mapped[str] = mapped_column(Text, nullable=False)
    origin: Mapped[str] = mapped_column(String(10), nullable=False)
    quarantined_at: Mapped[dt.datetime] = mapped_column(default=utcnow, nullable=False, index=True)

    __table_args__ = (UniqueConstraint("category", "skiptoken"),)


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
    unchanged: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0", nullable=False)
    quarantined: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0", nullable=False)
    fetched: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0", nullable=False)
    # The category still holds entities of the bundled sample (removed by its first successful live sync).
    has_samples: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false(), nullable=False)
    updated_at: Mapped[dt.datetime] = mapped_column(default=utcnow, onupdate=utcnow, nullable=False)

    @property
    def last_page_at(self) -> dt.datetime | None:
        """When a page (or a wanted document) was last committed: every such write moves `updated_at`, and so
        does recording a failed run, which writes `last_error_at` with the same time; then the end of the last
        complete run is the latest page known to have succeeded."""
        if self.last_error_at is not None and self.updated_at == self.last_error_at:
            return self.last_success_at
        return self.updated_at if self.pages or self.fetched else self.last_success_at


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
    unchanged: Mapped[int] = mapped_column(Integer, default=0, server_default="0", nullable=False)
    quarantined: Mapped[int] = mapped_column(Integer, default=0, server_default="0", nullable=False)
    fetched: Mapped[int] = mapped_column(Integer, default=0, server_default="0", nullable=False)
    errors: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    error: Mapped[str | None] = mapped_column(Text)


# What `q` searches (shared/search.py); the indexes behind it: migrations/versions/0012_list_indexes.py.
TOEZEGGING_SEARCH = TextIndex(TkToezegging, ("tekst", "nummer"))
DOCUMENT_SEARCH = TextIndex(TkDocument, ("titel", "onderwerp"))
