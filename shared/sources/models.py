from __future__ import annotations

import datetime as dt
import enum
import uuid

from sqlalchemy import Enum, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, declared_attr, mapped_column

from shared.db import Base, VersionedMixin, new_id
from shared.people.models import AuthoredMixin
from shared.search import TextIndex


class SourceKind(enum.StrEnum):
    report = "report"
    letter = "letter"
    kamerbrief = "kamerbrief"
    appendix = "appendix"
    progress_report = "progress_report"
    framework = "framework"
    meeting_report = "meeting_report"
    other = "other"


class Source(AuthoredMixin, VersionedMixin, Base):
    __tablename__ = "sources"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    key: Mapped[str | None] = mapped_column(String(80), unique=True)
    kind: Mapped[SourceKind] = mapped_column(Enum(SourceKind, native_enum=False, length=40))
    title: Mapped[str] = mapped_column(String(500))
    date: Mapped[dt.date | None]
    publisher_party_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("parties.id", ondelete="SET NULL"), index=True
    )
    tk_document_nummer: Mapped[str | None] = mapped_column(String(40), unique=True)
    dossier_nummer: Mapped[str | None] = mapped_column(String(40), index=True)
    kamerstuk: Mapped[str | None] = mapped_column(String(100))
    url: Mapped[str | None] = mapped_column(String(2000))
    seed_file: Mapped[str | None] = mapped_column(String(200))


class ProvenanceMixin:
    """Where a record came from: a source document plus the section and a literal quote."""

    @declared_attr
    def source_id(cls) -> Mapped[uuid.UUID | None]:
        return mapped_column(ForeignKey("sources.id", ondelete="SET NULL"), index=True)

    source_section: Mapped[str | None] = mapped_column(String(300))
    source_quote: Mapped[str | None] = mapped_column(Text)


# What `q` searches (shared/search.py); the indexes behind it: migrations/versions/0012_list_indexes.py.
SOURCE_SEARCH = TextIndex(Source, ('title',))
