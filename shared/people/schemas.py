from __future__ import annotations

import uuid
from typing import Annotated

from pydantic import Field, StringConstraints

from shared.schemas import OutModel, StrictModel

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]


class PersonIn(StrictModel):
    """A responsible person: no other personal data is accepted (unknown fields are a 422; text is screened for
    BSNs like every input)."""

    name: Name = Field(description="The person's name as colleagues know it.", examples=["J. de Vries"])
    role: Name | None = Field(default=None, description="Their role.", examples=["programmamanager"])
    party_id: uuid.UUID | None = Field(default=None, description="The party they work for.")


class PersonOut(OutModel):
    name: str
    role: str | None
    party_id: uuid.UUID | None


OwnerPerson = Annotated[
    PersonIn | None,
    Field(
        description="The person responsible, beside the owner party (name, role, party; nothing else). Send null to "
        "clear it."
    ),
]
OwnerPersonFilter = Annotated[
    Name | None,
    Field(description="Only records whose responsible person has this name (exact, case-insensitive)."),
]
