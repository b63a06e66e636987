"""Who may change what (issue: trust between parties).

- A key bound to a party changes only what its party owns: commitments it owns, their actions, milestones,
  measurements and fulfilment records, and actions it owns on recommendations addressed to it. Everything else is a
  403 that names the owning party.
- An unbound write key is a staff key (only admins create keys): it changes everything, except what needs admin.
- Parties, sources and recommendations are kept by staff; the codes that decide access to client signals
  (`zorgkantoor_code`, `agb_code`) change only with admin; status overrides and themes need admin; deleting a
  commitment that has status history needs admin.

One definition, used by every write route (services/api/crud.py, the milestone, fulfilment and status routes).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from shared.actions.models import Action
from shared.auth.service import Principal, Scope
from shared.commitments.models import Commitment
from shared.errors import Forbidden
from shared.milestones.models import Milestone
from shared.parties.models import Party
from shared.recommendations.models import Recommendation

STAFF_RESOURCES = {"parties": "parties", "sources": "sources", "recommendations": "recommendations"}
ACCESS_CODES = ("zorgkantoor_code", "agb_code")


def values_of(record: Any) -> dict[str, Any]:
    """A stored record's column values."""
    return {column.key: getattr(record, column.key) for column in record.__table__.columns}


async def _party(session: AsyncSession, party_id: uuid.UUID | None) -> str:
    if party_id is None:
        return "no party (staff records)"
    name = (await session.execute(select(Party.name).where(Party.id == party_id))).scalar()
    return f"party {party_id}" + (f" ({name})" if name else "")


async def commitment_owner(session: AsyncSession, commitment_id: uuid.UUID | None) -> uuid.UUID | None:
    if commitment_id is None:
        return None
    return (
        await session.execute(select(Commitment.owner_party_id).where(Commitment.id == commitment_id))
    ).scalar()


async def action_owner(session: AsyncSession, values: Mapping[str, Any]) -> uuid.UUID | None:
    """An action on a commitment belongs to the commitment's owner; one on a recommendation to the party that owns
    the action, provided the recommendation is addressed to that party."""
    if values.get("commitment_id") is not None:
        return await commitment_owner(session, values["commitment_id"])
    addressee = (
        await session.execute(
            select(Recommendation.addressee_party_id).where(
                Recommendation.id == values.get("recommendation_id")
            )
        )
    ).scalar()
    owner = values.get("owner_party_id")
    return owner if owner is not None and owner == addressee else None


async def milestone_owner(session: AsyncSession, values: Mapping[str, Any]) -> uuid.UUID | None:
    if values.get("commitment_id") is not None:
        return await commitment_owner(session, values["commitment_id"])
    action = (await session.execute(select(Action).where(Action.id == values.get("action_id")))).scalar()
    return await action_owner(session, values_of(action)) if action is not None else None


async def owner_of(session: AsyncSession, resource: str, values: Mapping[str, Any]) -> uuid.UUID | None:
    """The party that owns a record of `resource` with these values (None: staff records)."""
    if resource == "commitments":
        return values.get("owner_party_id")
    if resource == "actions":
        return await action_owner(session, values)
    if resource == "milestones":
        return await milestone_owner(session, values)
    if resource == "measurements":
        milestone = (
            await session.execute(select(Milestone).where(Milestone.id == values["milestone_id"]))
        ).scalar()
        return await milestone_owner(session, values_of(milestone)) if milestone is not None else None
    if resource == "fulfilments":
        return await commitment_owner(session, values["commitment_id"])
    return None


async def ensure_may_write(
    principal: Principal, session: AsyncSession, resource: str, singular: str, *states: Mapping[str, Any]
) -> None:
    """403 unless the caller may write a record of `resource` in each of these states (before and after a change)."""
    if principal.party_id is None:
        return  # a staff key
    if resource in STAFF_RESOURCES:
        raise Forbidden(
            f"{STAFF_RESOURCES[resource].capitalize()} are kept by staff: a key bound to "
            f"{await _party(session, principal.party_id)} cannot change them."
        )
    for values in states:
        owner = await owner_of(session, resource, values)
        if owner != principal.party_id:
            raise Forbidden(
                f"This {singular} belongs to {await _party(session, owner)}: a key bound to "
                f"{await _party(session, principal.party_id)} may change only what its party owns."
            )


def ensure_admin(principal: Principal, why: str) -> None:
    if not principal.has(Scope.admin):
        raise Forbidden(f"{why} needs an API key with scope 'admin'.")


def ensure_party_change_allowed(
    principal: Principal, changes: Mapping[str, Any], current: Mapping[str, Any]
) -> None:
    """The codes that decide access to client signals change only with admin."""
    changed = [code for code in ACCESS_CODES if code in changes and changes[code] != current.get(code)]
    if changed:
        ensure_admin(
            principal, f"Changing {' and '.join(changed)} (they decide which client signals a key sees)"
        )
