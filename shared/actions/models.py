from __future__ import annotations

import datetime as dt
import enum
import uuid

from sqlalchemy import CheckConstraint, Enum, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from shared.db import Base, VersionedMixin, new_id
from shared.people.models import AuthoredMixin, OwnerPersonMixin
from shared.search import TextIndex
from shared.sources.models import ProvenanceMixin


class ActionState(enum.StrEnum):
    planned = "planned"
    in_progress = "in_progress"
    done = "done"
    blocked = "blocked"
    cancelled = "cancelled"


class Action(OwnerPersonMixin, AuthoredMixin, ProvenanceMixin, VersionedMixin, Base):
    __tablename__ = "actions"
    __table_args__ = (
        Index("ix_actions_created_at_id", "created_at", "id"),
        CheckConstraint("commitment_id IS NOT NULL OR recommendation_id IS NOT NULL", name="target_present"),
    )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    key: Mapped[str | None] = mapped_column(String(80), unique=True)
    title: Mapped[str] = mapped_column(String(500))
    description: Mapped[str | None] = mapped_column(Text)
    commitment_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("commitments.id", ondelete="CASCADE"), index=True
    )
    recommendation_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("recommendations.id", ondelete="CASCADE"), index=True
    )
    owner_party_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("parties.id", ondelete="SET NULL"), index=True
    )
    state: Mapped[ActionState] = mapped_column(
        Enum(ActionState, native_enum=False, length=20), default=ActionState.planned
    )
    start_date: Mapped[dt.date | None]
    end_date: Mapped[dt.date | None]
    last_update_date: Mapped[dt.date | None]


# What `q` searches (shared/search.py); the indexes behind it: migrations/versions/0012_list_indexes.py.
ACTION_SEARCH = TextIndex(Action, ('title', 'description'))
