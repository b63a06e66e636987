from __future__ import annotations

from typing import Annotated

from pydantic import Field, StringConstraints

from shared.parties.models import PartyKind
from shared.schemas import ListParams, LongText, OutModel, RecordOut, ShortText, Slug, StrictModel, not_null

AgbCode = Annotated[
    str,
    StringConstraints(pattern=r"^\d{8}$"),
    Field(description="AGB code: 8 digits.", examples=["73730001"]),
]
ZorgkantoorCode = Annotated[
    str,
    StringConstraints(pattern=r"^\d{4}$"),
    Field(description="Zorgkantoor (UZOVI) code: 4 digits.", examples=["5521"]),
]
KvkNumber = Annotated[str, StringConstraints(pattern=r"^\d{8}$"), Field(description="KvK number: 8 digits.")]


class PartyCreate(StrictModel):
    key: Slug | None = None
    name: ShortText
    kind: PartyKind
    agb_code: AgbCode | None = None
    zorgkantoor_code: ZorgkantoorCode | None = None
    kvk_number: KvkNumber | None = None
    description: LongText | None = None

    model_config = {
        "json_schema_extra": {
            "examples": [{"key": "fokus", "name": "Stichting Fokus Wonen", "kind": "provider"}]
        }
    }


class PartyUpdate(StrictModel):
    key: Slug | None = None
    name: ShortText = not_null()
    kind: PartyKind = not_null()
    agb_code: AgbCode | None = None
    zorgkantoor_code: ZorgkantoorCode | None = None
    kvk_number: KvkNumber | None = None
    description: LongText | None = None

    model_config = {
        "json_schema_extra": {
            "examples": [{"name": "Stichting Fokus Wonen en Diensten", "agb_code": "73730001"}]
        }
    }


class PartyOut(RecordOut, OutModel):
    name: str
    kind: PartyKind
    agb_code: str | None
    zorgkantoor_code: str | None
    kvk_number: str | None
    description: str | None


class PartyFilters(ListParams):
    kind: PartyKind | None = Field(default=None, description="Only parties of this kind.")
    agb_code: AgbCode | None = Field(default=None, description="Only the party with this AGB code.")
    zorgkantoor_code: ZorgkantoorCode | None = Field(
        default=None, description="Only the party with this zorgkantoor (UZOVI) code."
    )
    q: Annotated[str, StringConstraints(max_length=200)] | None = Field(
        default=None, description="Case-insensitive substring search in name."
    )
