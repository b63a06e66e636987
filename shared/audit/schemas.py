from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Any

from pydantic import Field, StringConstraints

from shared.schemas import AuthorOut, ListParams, OutModel


class AuditOut(OutModel):
    id: uuid.UUID
    at: dt.datetime
    actor: str
    key_id: uuid.UUID | None
    client_id: str | None = Field(default=None, description="The OAuth2 client that wrote, when a token did.")
    subject: str | None = Field(
        default=None,
        description="The person (`issuer#subject`) when an external "
        "OIDC token did; `actor` is then their display name.",
    )
    party_id: uuid.UUID | None
    action: str = Field(examples=["signals.read"])
    resource: str = Field(examples=["client_signal"])
    record_ids: list[str]
    record_count: int
    request_id: str | None
    detail: dict[str, Any] | None


class AuditFilters(ListParams):
    action: Annotated[str, StringConstraints(max_length=60)] | None = Field(
        default=None, description="Only entries of this action (e.g. signals.list)."
    )
    resource: Annotated[str, StringConstraints(max_length=60)] | None = Field(
        default=None, description="Only entries about this resource (e.g. signals)."
    )
    key_id: uuid.UUID | None = Field(default=None, description="Only entries made with this API key.")
    record_id: uuid.UUID | None = Field(default=None, description="Entries that name this record.")
    since: dt.datetime | None = Field(default=None, description="Entries at or after this instant.")
    until: dt.datetime | None = Field(default=None, description="Entries before this instant.")


class ChangeOut(OutModel):
    """One write in a commitment's history, as any reader of the commitment may see it: no key id or request id,
    the writer as a name and a party."""

    id: uuid.UUID
    at: dt.datetime
    action: str = Field(examples=["milestones.update"], description="`<resource>.<verb>`.")
    resource: str = Field(
        examples=["milestones"],
        description="commitments, actions, milestones, measurements, fulfilments or status_overrides.",
    )
    record_id: uuid.UUID | None = Field(description="The record written.")
    actor: AuthorOut
    detail: dict[str, Any] | None = Field(
        description='What changed: {"changes": {field: [old, new]}} for an '
        'update, {"new": ...} for a create, {"old": ...} for a delete.'
    )

    @classmethod
    def from_entry(cls, entry: Any) -> ChangeOut:
        ids = entry.record_ids or []
        return cls(
            id=entry.id,
            at=entry.at,
            action=entry.action,
            resource=entry.resource,
            record_id=ids[0] if ids else None,
            actor=AuthorOut(name=entry.actor, party_id=entry.party_id),
            detail=entry.detail,
        )
