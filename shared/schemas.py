"""Schema building blocks: strict input models, common field types, provenance."""

from __future__ import annotations

import datetime as dt
import re
import typing
import uuid
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    GetJsonSchemaHandler,
    StringConstraints,
    ValidationInfo,
    field_validator,
)
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import PydanticCustomError

from shared.pagination import DEFAULT_LIMIT, MAX_LIMIT
from shared.signals.privacy import BSN_CANDIDATE, find_bsn, holds_bsn

# PostgreSQL cannot store NUL in text, a lone surrogate cannot be encoded at all, and the other C0 controls
# (tab, line feed and carriage return excepted) and DEL are never meant in our text: refused with a 422 that
# names the field and the position (never the text).
CONTROL_CHARACTERS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")
_ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
MAX_TEXT = 20_000  # characters in any string field without a limit of its own
# Anything the screen below could refuse in a string (a control character, or a number where find_bsn could
# find a BSN), in one C-level search: the common clean string costs that search only.
_SUSPECT = re.compile(f"{CONTROL_CHARACTERS.pattern}|{BSN_CANDIDATE.pattern}")


def control_character_error(value: str) -> PydanticCustomError | None:
    found = CONTROL_CHARACTERS.search(value)
    if found is None:
        return None
    return PydanticCustomError(
        "control_character",
        "contains a control character (U+{code}) at character {offset}; NUL, other control "
        "characters and lone surrogates are not accepted",
        {"code": f"{ord(found.group()):04X}", "offset": found.start()},
    )


def _screen_text(value: Any) -> None:
    if isinstance(value, str):
        error = control_character_error(value)
        if error is not None:
            raise error
        if len(value) >= 9:
            offsets = find_bsn(value) if holds_bsn(value) else []
            if offsets:  # no BSN anywhere: not in a commitment's title, a party's name or a query parameter
                raise PydanticCustomError(
                    "bsn",
                    "contains a number that passes the BSN eleven-test at character "
                    "{offset}; remove it (BSNs may not be stored)",
                    {"offset": offsets[0]},
                )
    elif isinstance(value, list):
        for item in value:
            _screen_text(item)


def check_day(value: Any) -> Any:
    """A date is a `YYYY-MM-DD` string or a date, never a number (pydantic would read 0 as 1970-01-01)."""
    if not (isinstance(value, dt.date) or (isinstance(value, str) and _ISO_DAY.fullmatch(value))):
        raise PydanticCustomError("date_format", "Input should be a date in the form YYYY-MM-DD")
    return value


# For dates outside StrictModels (path and query parameters a handler declares itself).
Day = Annotated[dt.date, BeforeValidator(check_day)]


def not_null(**kwargs: Any) -> Any:
    """The default of a PATCH field that may be left out (unchanged) but not set to null: its type has no None,
    so null is a 422 naming the field, and the OpenAPI schema does not call it nullable."""
    return Field(default=None, **kwargs)


def _allows_null(schema: dict[str, Any]) -> bool:
    kinds = schema.get("type")
    if kinds == "null" or (isinstance(kinds, list) and "null" in kinds):
        return True
    return any(_allows_null(option) for option in schema.get("anyOf", []) + schema.get("oneOf", []))


def _drop_implied_max_length(schema: dict[str, Any]) -> None:
    """The model-wide `str_max_length` says nothing about a string with a fixed pattern (an AGB code, a TZ
    number): leave it out of the document there."""
    if schema.get("pattern") and schema.get("maxLength") == MAX_TEXT:
        del schema["maxLength"]
    for option in schema.get("anyOf", []):
        _drop_implied_max_length(option)
    if isinstance(schema.get("items"), dict):
        _drop_implied_max_length(schema["items"])


def _is_day(annotation: Any) -> bool:
    if annotation is dt.date:
        return True
    return any(_is_day(arg) for arg in typing.get_args(annotation))


Slug = Annotated[
    str,
    StringConstraints(pattern=r"^[a-z0-9][a-z0-9-]*$", max_length=80),
    Field(
        description="Stable natural key (lower-case slug), unique per resource.",
        examples=["fokus-zzp-afbouw"],
    ),
]
ShortText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]
Title = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]
LongText = Annotated[str, StringConstraints(max_length=20_000)]
Section = Annotated[str, StringConstraints(max_length=300)]
Quote = Annotated[str, StringConstraints(max_length=2_000)]
ThemeKey = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9-]*$", max_length=60)]


class StrictModel(BaseModel):
    """Input model: unknown fields are rejected, not ignored; text holds no control characters and no BSN (every string
    field, also in lists, and every query parameter, since query models are StrictModels too); a date is a
    `YYYY-MM-DD` string or a date, never a number (pydantic would read 0 as 1970-01-01)."""

    model_config = ConfigDict(extra="forbid", str_max_length=MAX_TEXT)

    # A "before" validator (no handler to wrap, the cheapest kind), run on every field of every input model:
    # it is on the hot path of each request and of each line of a signal batch.
    @field_validator("*", mode="before")
    @classmethod
    def _screen(cls, value: Any, info: ValidationInfo) -> Any:
        days = _DAY_FIELDS.get(cls)
        if days is None:
            days = _day_fields(cls)
        if value.__class__ is str:
            if info.field_name in days:
                check_day(value)
            if _SUSPECT.search(value) is None:
                return value
        elif value is not None and info.field_name in days:
            check_day(value)
        elif value.__class__ is list:
            try:  # a list of strings in one search ("\n" is neither a control character nor part of a BSN)
                if _SUSPECT.search("\n".join(value)) is None:
                    return value
            except TypeError:  # not all strings
                pass
        _screen_text(value)
        return value

    @classmethod
    def __get_pydantic_json_schema__(cls, core_schema: Any, handler: GetJsonSchemaHandler) -> JsonSchemaValue:
        schema = super().__get_pydantic_json_schema__(core_schema, handler)
        for prop in handler.resolve_ref_schema(schema).get("properties", {}).values():
            # A `not_null()` field: its default (left out) is not a value a client may send.
            if "default" in prop and prop["default"] is None and not _allows_null(prop):
                del prop["default"]
            _drop_implied_max_length(prop)
        return schema


_DAY_FIELDS: dict[type, frozenset[str]] = {}


def _day_fields(model: type[BaseModel]) -> frozenset[str]:
    fields = _DAY_FIELDS.get(model)
    if fields is None:
        fields = _DAY_FIELDS[model] = frozenset(
            name for name, f in model.model_fields.items() if _is_day(f.annotation)
        )
    return fields


class OutModel(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class ProvenanceIn(StrictModel):
    source_id: uuid.UUID | None = Field(
        default=None, description="The source document this record comes from."
    )
    source_section: Section | None = Field(
        default=None, description="Section, heading or page in the source."
    )
    source_quote: Quote | None = Field(default=None, description="A literal quote from the source.")


class ProvenanceOut(OutModel):
    source_id: uuid.UUID | None = None
    source_section: str | None = None
    source_quote: str | None = None


class AuthorOut(OutModel):
    """Who wrote: an API key's or OAuth2 client's name, or a signed-in person's display name, and its party."""

    name: str
    party_id: uuid.UUID | None


class AuthoredOut(OutModel):
    """Authorship of a record (shared/people/models.py AuthoredMixin)."""

    created_by: AuthorOut | None = Field(
        default=None, description="Who created the record (null for seed data)."
    )
    updated_by: AuthorOut | None = Field(
        default=None, description="Who changed it last (null for seed data)."
    )


class RecordOut(AuthoredOut):
    id: uuid.UUID
    key: str | None = None
    created_at: dt.datetime
    updated_at: dt.datetime
    version: int


class ListParams(StrictModel):
    """Query parameters every list endpoint accepts; domain filters extend it. Unknown parameters are rejected."""

    limit: Annotated[int, Field(ge=1, le=MAX_LIMIT, description=f"Page size (1-{MAX_LIMIT}).")] = (
        DEFAULT_LIMIT
    )
    cursor: Annotated[str, StringConstraints(max_length=1000)] | None = Field(
        default=None, description="`next_cursor` from the previous page."
    )
    sort: Annotated[str, StringConstraints(max_length=60)] | None = Field(
        default=None, description="Sort field; prefix '-' for descending."
    )
