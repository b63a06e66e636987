"""Generic repository and service building blocks shared by the CRUD domains.

Repositories hold every query and never commit; services hold the rules (reference checks,
natural-key conflicts) and never commit either: the request or job that owns the session does.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlalchemy import Select, bindparam, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.exc import StaleDataError

from shared.db import Base
from shared.errors import Conflict, DuplicateKey, NotFound, ValidationFailed, field_error
from shared.pagination import SortField, Sorting
from shared.people.models import Acting, stamp

M = TypeVar("M", bound=Base)


def equal_conditions(
    filters: Any, model: Any, *names: str, columns: Mapping[str, str] | None = None
) -> list[Any]:
    """`model.<column> == filters.<name>` for every named filter that is set."""
    conds = []
    for name in names:
        value = getattr(filters, name)
        if value is not None:
            conds.append(getattr(model, (columns or {}).get(name, name)) == bindparam(name, value))
    return conds


def date_range(column: Any, before: Any, after: Any) -> list[Any]:
    """Inclusive `due_before` / `due_after` style bounds on a column or on a sort field.

    On the SortField of a nullable sort key the bounds go on its sort expression, `coalesce(column, sentinel)`:
    then the index that serves `sort=<key>` (migration 0012) is also the range, where bounds on the bare column
    would leave that index to be walked from its start. Rows without a value stay out, as with the column.
    """
    field = column if isinstance(column, SortField) else None
    expr = field.expression() if field else column
    name = field.column.key if field else column.key
    conds = []
    if before is not None:
        conds.append(expr <= bindparam(f"{name}_before", before))
    if after is not None:
        conds.append(expr >= bindparam(f"{name}_after", after))
    if conds and field and field.nullable:
        conds.append(expr < field.null_last())
    return conds


_UNIQUE_PATTERNS = (
    re.compile(r"UNIQUE constraint failed: (?P<cols>[\w., ]+)"),  # SQLite
    re.compile(r'unique constraint "(?P<name>[\w]+)"'),  # PostgreSQL
)


def integrity_error_to_problem(exc: IntegrityError, resource: str) -> Exception:
    message = str(exc.orig)
    for pattern in _UNIQUE_PATTERNS:
        match = pattern.search(message)
        if not match:
            continue
        if "cols" in match.groupdict() and match.group("cols"):
            fields = [part.split(".")[-1].strip() for part in match.group("cols").split(",")]
        else:
            name = match.group("name")
            fields = [name.split("_", 2)[-1]] if name.startswith("uq_") else [name]
        field = ", ".join(fields)
        return DuplicateKey(
            f"A {resource} with this {field} already exists.",
            errors=[field_error(["body", f], "already exists", "duplicate") for f in fields],
        )
    if "FOREIGN KEY" in message.upper() or "foreign key" in message:
        return Conflict(
            f"The {resource} refers to, or is referred to by, a record that does not allow this change."
        )
    if "CHECK" in message.upper() or "check constraint" in message:
        return Conflict(f"The {resource} violates a consistency rule: {message.splitlines()[0][:200]}")
    return Conflict(f"The {resource} conflicts with stored data.")


class Repository(Generic[M]):
    model: type[M]
    sorting: Sorting
    resource: str = "record"

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    def base_query(self) -> Select[Any]:
        return select(self.model)

    async def get(self, id_: Any) -> M | None:
        return await self.session.get(self.model, id_)

    async def get_or_404(self, id_: Any) -> M:
        obj = await self.get(id_)
        if obj is None:
            raise NotFound(f"No {self.resource} with id {id_}.")
        return obj

    async def get_by(self, **criteria: Any) -> M | None:
        stmt = select(self.model).filter_by(**criteria).limit(1)
        return (await self.session.execute(stmt)).scalars().first()

    async def list(
        self, conditions: Iterable[Any], *, sort: str | None, cursor: str | None, limit: int
    ) -> tuple[list[M], str | None]:
        stmt = self.base_query().where(*conditions)
        stmt, sort_key, field = self.sorting.apply(stmt, sort, cursor, limit)
        rows = list((await self.session.execute(stmt)).scalars().all())
        return self.sorting.page(rows, sort_key, field, limit)

    def add(self, obj: M) -> M:
        self.session.add(obj)
        return obj

    async def delete(self, obj: M) -> None:
        await self.session.delete(obj)

    async def flush(self) -> None:
        try:
            await self.session.flush()
        except IntegrityError as exc:
            raise integrity_error_to_problem(exc, self.resource) from exc
        except StaleDataError as exc:  # the version guard: another request changed the row meanwhile
            raise Conflict(
                f"The {self.resource} was changed by another request at the same moment; GET it again "
                "and retry."
            ) from exc


@dataclass(frozen=True)
class Ref:
    """A reference field checked before writing, so a bad id is a 422 on that field, not a 500."""

    model: type[Base]
    label: str


class CrudService(Generic[M]):
    repository_class: type[Repository[M]]
    # A field, or a path into a nested object (("owner_person", "party_id")), that names another record.
    refs: Mapping[str | tuple[str, ...], Ref] = {}
    # Natural keys checked before insert for a friendly 409 (the unique constraint is the backstop).
    natural_keys: tuple[str, ...] = ("key",)

    @staticmethod
    def conditions(filters: Any) -> list[Any]:
        """The WHERE conditions of a list under `filters` (the resource's filters model); none by default."""
        return []

    def __init__(self, session: AsyncSession) -> None:
        self.session = session
        self.repo = self.repository_class(session)

    async def check_refs(self, data: Mapping[str, Any]) -> None:
        errors = []
        for field, ref in self.refs.items():
            path = (field,) if isinstance(field, str) else field
            value: Any = data
            for step in path:
                value = value.get(step) if isinstance(value, Mapping) else None
            if value is None:
                continue
            if await self.session.get(ref.model, value) is None:
                errors.append(field_error(["body", *path], f"no {ref.label} with id {value}", "reference"))
        if errors:
            raise ValidationFailed("The request refers to records that do not exist.", errors)

    async def check_natural_keys(self, data: Mapping[str, Any], current: M | None = None) -> None:
        for field in self.natural_keys:
            value = data.get(field)
            if value is None:
                continue
            existing = await self.repo.get_by(**{field: value})
            if existing is not None and existing is not current:
                # A record without an `id` (a theme) is known by its natural key, which is its primary key.
                identity = str(getattr(existing, "id", value))
                raise DuplicateKey(
                    f"A {self.repo.resource} with this {field} already exists (id {identity}).",
                    errors=[field_error(["body", field], "already exists", "duplicate")],
                    existing_id=identity,
                )

    async def get(self, id_: Any) -> M:
        return await self.repo.get_or_404(id_)

    async def create(self, data: dict[str, Any], actor: Acting | None = None) -> M:
        """`actor`: who writes, named as the record's created_by and updated_by (None: seed data)."""
        await self.check_refs(data)
        await self.check_natural_keys(data)
        obj = self.repo.model(**self.column_values(data))
        stamp(obj, actor, created=True)
        await self.apply_relations(obj, data)
        self.repo.add(obj)
        await self.repo.flush()
        await self.session.refresh(obj)  # loads server defaults and eager relationships for the response
        await self.after_write(obj, created=True)
        return obj

    async def update(self, obj: M, data: dict[str, Any], actor: Acting | None = None) -> M:
        await self.check_refs(data)
        await self.check_natural_keys(data, current=obj)
        for name, value in self.column_values(data).items():
            setattr(obj, name, value)
        stamp(obj, actor, created=False)
        await self.apply_relations(obj, data)
        self.validate_object(obj)
        await self.repo.flush()
        await self.session.refresh(obj)
        await self.after_write(obj, created=False)
        return obj

    async def delete(self, obj: M) -> None:
        await self.repo.delete(obj)
        await self.repo.flush()

    # Hooks -------------------------------------------------------------------------------
    relation_fields: tuple[str, ...] = ()

    def column_values(self, data: Mapping[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in data.items() if k not in self.relation_fields}

    async def apply_relations(self, obj: M, data: Mapping[str, Any]) -> None:
        return None

    def validate_object(self, obj: M) -> None:
        return None

    async def after_write(self, obj: M, *, created: bool) -> None:
        return None
