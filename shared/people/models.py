"""Column mixins for authorship and responsible persons.

Both are stored as plain columns (a name, a role, a party id) rather than JSON: the commitment list reads its
rows straight from the table (shared/commitments/repository.py), `owner_person` is filtered on, and neither
needs a join. The party ids carry no foreign key, like the audit log's: they record who acted or who was named
at the time, and that stays true after a key, client or party is gone.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, MutableMapping
from typing import Any, Protocol

from sqlalchemy import String, bindparam
from sqlalchemy.orm import Mapped, declared_attr, mapped_column


class Acting(Protocol):
    """Whoever writes: an audit Actor (an API key, an OAuth2 client or a signed-in person) has these."""

    @property
    def name(self) -> str: ...

    @property
    def party_id(self) -> uuid.UUID | None: ...


AUTHOR_COLUMNS = ("created_by_name", "created_by_party_id", "updated_by_name", "updated_by_party_id")
PERSON_COLUMNS = ("owner_person_name", "owner_person_role", "owner_person_party_id")
PERSON_KEY = "owner_person_key"


def person_key(name: str | None) -> str | None:
    """What `?owner_person=` compares: the name case-folded (Unicode-aware on every backend, unlike SQL lower(),
    which SQLite applies to ASCII only) with runs of whitespace as one space."""
    return " ".join(name.casefold().split()) if name is not None else None


def author(name: str | None, party_id: Any) -> dict[str, Any] | None:
    return None if name is None else {"name": name, "party_id": party_id}


def person(name: str | None, role: str | None, party_id: Any) -> dict[str, Any] | None:
    return None if name is None else {"name": name, "role": role, "party_id": party_id}


def as_objects(row: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """A row read straight from the table (a dict of columns) in the API's shape: the columns above become
    the `created_by`, `updated_by` and `owner_person` objects (the properties below do the same on a model)."""
    if "created_by_name" in row:
        row["created_by"] = author(row.pop("created_by_name"), row.pop("created_by_party_id"))
        row["updated_by"] = author(row.pop("updated_by_name"), row.pop("updated_by_party_id"))
    if "owner_person_name" in row:
        row.pop(PERSON_KEY, None)
        row["owner_person"] = person(*(row.pop(column) for column in PERSON_COLUMNS))
    return row


class AuthoredMixin:
    """Who created the record and who changed it last (null for seed data and records made before 0010)."""

    created_by_name: Mapped[str | None] = mapped_column(String(200))
    created_by_party_id: Mapped[uuid.UUID | None]
    updated_by_name: Mapped[str | None] = mapped_column(String(200))
    updated_by_party_id: Mapped[uuid.UUID | None]

    @property
    def created_by(self) -> dict[str, Any] | None:
        return author(self.created_by_name, self.created_by_party_id)

    @property
    def updated_by(self) -> dict[str, Any] | None:
        return author(self.updated_by_name, self.updated_by_party_id)


def stamp(record: Any, actor: Acting | None, *, created: bool) -> None:
    """Name the writer on a record that keeps authorship (the name cut to the column, as the audit's actor is);
    nothing without an actor (seed data) or on a record without authorship."""
    if actor is None or not isinstance(record, AuthoredMixin):
        return
    name = actor.name[:200]
    if created:
        record.created_by_name, record.created_by_party_id = name, actor.party_id
    record.updated_by_name, record.updated_by_party_id = name, actor.party_id


class OwnerPersonMixin:
    """The person responsible beside the owner party: a name, a role and a party, nothing else."""

    owner_person_name: Mapped[str | None] = mapped_column(String(200))
    owner_person_role: Mapped[str | None] = mapped_column(String(200))
    owner_person_party_id: Mapped[uuid.UUID | None]

    @declared_attr
    def owner_person_key(cls) -> Mapped[str | None]:
        return mapped_column(String(200), index=True)

    @property
    def owner_person(self) -> dict[str, Any] | None:
        return person(self.owner_person_name, self.owner_person_role, self.owner_person_party_id)

    @owner_person.setter
    def owner_person(self, value: Mapping[str, Any] | None) -> None:
        value = value or {}
        self.owner_person_name = value.get("name")
        self.owner_person_role = value.get("role")
        self.owner_person_party_id = value.get("party_id")
        self.owner_person_key = person_key(self.owner_person_name)


def owner_person_condition(model: type[OwnerPersonMixin], name: str) -> Any:
    """`?owner_person=<name>`: exact and case-insensitive, on the indexed key (a named bind: the commitment list's
    PostgreSQL path caches its SQL per shape)."""
    return model.owner_person_key == bindparam("owner_person", person_key(name))
