from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from shared.db import Base, VersionedMixin, new_id
from shared.people.models import AuthoredMixin
from shared.search import TextIndex
from shared.sources.models import ProvenanceMixin


class Recommendation(AuthoredMixin, ProvenanceMixin, VersionedMixin, Base):
    __tablename__ = "recommendations"
    __table_args__ = (Index("ix_recommendations_created_at_id", "created_at", "id"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    key: Mapped[str | None] = mapped_column(String(80), unique=True)
    title: Mapped[str] = mapped_column(String(300))
    text: Mapped[str] = mapped_column(Text)
    addressee_party_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("parties.id", ondelete="SET NULL"), index=True
    )
    theme_key: Mapped[str | None] = mapped_column(ForeignKey("themes.key", ondelete="RESTRICT"), index=True)
    response: Mapped[str | None] = mapped_column(Text)
    response_source_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("sources.id", ondelete="SET NULL")
    )
    # Roll-up of its commitments and actions, written by the status engine.
    status: Mapped[str] = mapped_column(String(30), default="open", server_default="open")
    reasons: Mapped[list[Any] | None] = mapped_column(JSON)


# What `q` searches (shared/search.py); the indexes behind it: migrations/versions/0012_list_indexes.py.
RECOMMENDATION_SEARCH = TextIndex(Recommendation, ('title', 'text'))
