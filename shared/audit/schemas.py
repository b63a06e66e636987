from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Any

from pydantic import Field, StringConstraints

from shared.schemas import ListParams, OutModel


class AuditOut(OutModel):
    id: uuid.UUID
    at: dt.datetime
    actor: str
    key_id: uuid.UUID | None
    client_id: str | None = Field(default=None, description="The OAuth2 client that wrote, when a token did.")
    subject: str | None = Field(default=None, description="The person (`issuer#subject`) when an external "
                                "OIDC token did; `actor` is then their display name.")
    party_id: uuid.UUID | None
    action: str = Field(examples=["signals.read"])
    resource: str = Field(examples=["client_signal"])
    record_ids: list[str]
    record_count: int
    request_id: str | None
    detail: dict[str, Any] | None


class AuditFilters(ListParams):
    action: Annotated[str, StringConstraints(max_length=60)] | None = Field(default=None, description="Only entries of this action (e.g. signals.list).")
    resource: Annotated[str, StringConstraints(max_length=60)] | None = Field(default=None, description="Only entries about this resource (e.g. signals).")
    key_id: uuid.UUID | None = Field(default=None, description="Only entries made with this API key.")
    record_id: uuid.UUID | None = Field(default=None, description="Entries that name this record.")
    since: dt.datetime | None = Field(default=None, description="Entries at or after this instant.")
    until: dt.datetime | None = Field(default=None, description="Entries before this instant.")
