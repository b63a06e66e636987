from __future__ import annotations

import datetime as dt
import enum
import uuid
from typing import Any

from sqlalchemy import JSON, Column, Enum, ForeignKey, Index, String, Table, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from shared.db import Base, VersionedMixin, new_id
from shared.people.models import AuthoredMixin, OwnerPersonMixin
from shared.search import TextIndex
from shared.sources.models import ProvenanceMixin


class CommitmentOrigin(enum.StrEnum):
    tk_toezegging = "tk_toezegging"
    letter = "letter"
    plan = "plan"
    report_response = "report_response"
    programme = "programme"
    other = "other"


commitment_themes = Table(
    "commitment_themes",
    Base.metadata,
    Column("commitment_id", ForeignKey("commitments.id", ondelete="CASCADE"), primary_key=True),
    Column("theme_key", ForeignKey("themes.key", ondelete="RESTRICT"), primary_key=True, index=True),
)

# Parties a commitment concerns beside its owner (e.g. VWS' supervision concerns Fokus): signals about them count.
commitment_subject_parties = Table(
    "commitment_subject_parties",
    Base.metadata,
    Column("commitment_id", ForeignKey("commitments.id", ondelete="CASCADE"), primary_key=True),
    Column("party_id", ForeignKey("parties.id", ondelete="CASCADE"), primary_key=True, index=True),
)

commitment_recommendations = Table(
    "commitment_recommendations",
    Base.metadata,
    Column("commitment_id", ForeignKey("commitments.id", ondelete="CASCADE"), primary_key=True),
    Column(
        "recommendation_id",
        ForeignKey("recommendations.id", ondelete="CASCADE"),
        primary_key=True,
        index=True,
    ),
)


class Recurrence(enum.StrEnum):
    """A commitment that recurs (the yearly tariff indexation, quarterly quality talks): one deadline and one
    fulfilment record per period."""

    month = "month"
    quarter = "quarter"
    year = "year"


class Commitment(OwnerPersonMixin, AuthoredMixin, ProvenanceMixin, VersionedMixin, Base):
    __tablename__ = "commitments"
    __table_args__ = (
        Index("ix_commitments_created_at_id", "created_at", "id"),
        Index("ix_commitments_updated_at_id", "updated_at", "id"),
        Index("ix_commitments_title_id", "title", "id"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    key: Mapped[str | None] = mapped_column(String(80), unique=True)
    title: Mapped[str] = mapped_column(String(500))
    description: Mapped[str | None] = mapped_column(Text)
    owner_party_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("parties.id", ondelete="SET NULL"), index=True
    )
    made_to_party_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("parties.id", ondelete="SET NULL"))
    origin: Mapped[CommitmentOrigin] = mapped_column(
        Enum(CommitmentOrigin, native_enum=False, length=40), default=CommitmentOrigin.other
    )
    due_date: Mapped[dt.date | None] = mapped_column(index=True)
    tk_toezegging_nummer: Mapped[str | None] = mapped_column(String(40), unique=True)
    recurrence_unit: Mapped[Recurrence | None] = mapped_column(Enum(Recurrence, native_enum=False, length=10))
    recurrence_start: Mapped[
        dt.date | None
    ]  # the first period starts here; due_date (if any) ends the series

    # Written only by the status engine (shared/status); derived data, so it does not bump `version`.
    status: Mapped[str] = mapped_column(String(30), default="open", server_default="open", index=True)
    schedule: Mapped[str] = mapped_column(
        String(20), default="no_deadline", server_default="no_deadline", index=True
    )
    source_status: Mapped[str | None] = mapped_column(String(100))
    reasons: Mapped[list[Any] | None] = mapped_column(JSON, default=list)  # [] until first evaluated
    reasons_digest: Mapped[str | None] = mapped_column(String(64))  # compared instead of loading reasons
    evaluated_at: Mapped[dt.datetime | None]
    rule_version: Mapped[str | None] = mapped_column(String(20))

    themes: Mapped[list[Theme]] = relationship(
        secondary=commitment_themes, lazy="selectin", order_by="Theme.key"
    )
    recommendations: Mapped[list[Recommendation]] = relationship(
        secondary=commitment_recommendations, lazy="selectin", order_by="Recommendation.id"
    )
    subject_parties: Mapped[list[Party]] = relationship(
        secondary=commitment_subject_parties, lazy="selectin", order_by="Party.id"
    )


from shared.parties.models import Party  # noqa: E402
from shared.recommendations.models import Recommendation  # noqa: E402
from shared.themes.models import Theme  # noqa: E402

# What `q` searches (shared/search.py); the indexes behind it: migrations/versions/0012_list_indexes.py.
COMMITMENT_SEARCH = TextIndex(Commitment, ('title', 'description', 'source_quote'))
