from __future__ import annotations

import enum
import uuid

from sqlalchemy import Enum, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from shared.db import Base, VersionedMixin, new_id
from shared.people.models import AuthoredMixin
from shared.search import TextIndex


class PartyKind(enum.StrEnum):
    ministry = "ministry"
    provider = "provider"
    zorgkantoor = "zorgkantoor"
    municipality = "municipality"
    institute = "institute"
    client_organisation = "client_organisation"
    parliament = "parliament"
    other = "other"


class Party(AuthoredMixin, VersionedMixin, Base):
    __tablename__ = "parties"
    __table_args__ = (Index("ix_parties_name_id", "name", "id"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    key: Mapped[str | None] = mapped_column(String(80), unique=True)
    name: Mapped[str] = mapped_column(String(300))
    kind: Mapped[PartyKind] = mapped_column(Enum(PartyKind, native_enum=False, length=40))
    agb_code: Mapped[str | None] = mapped_column(String(8), unique=True)
    zorgkantoor_code: Mapped[str | None] = mapped_column(String(4), unique=True)
    kvk_number: Mapped[str | None] = mapped_column(String(8), unique=True)
    description: Mapped[str | None] = mapped_column(Text)


# What `q` searches (shared/search.py); the indexes behind it: migrations/versions/0012_list_indexes.py.
PARTY_SEARCH = TextIndex(Party, ('name',))
