"""Who may see and write which signals.

A key bound to a party sees and writes only that party's signals: a zorgkantoor by its zorgkantoor code,
a provider by its AGB code (or the resolved provider party). An unbound key with `signals:read` is a staff
key (only admins create keys) and sees all. A signal outside the caller's scope is answered exactly as a
signal that does not exist (404), so a key cannot probe for others' signals; 403 is only for what the key
itself lacks (the scope, or a party with neither code).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import false, or_
from sqlalchemy.ext.asyncio import AsyncSession

from shared.auth.service import Principal
from shared.errors import Forbidden
from shared.parties.models import Party
from shared.signals.models import ClientSignal


@dataclass(frozen=True)
class SignalScope:
    unrestricted: bool
    party_id: uuid.UUID | None = None
    zorgkantoor_code: str | None = None
    agb_code: str | None = None

    def condition(self) -> Any:
        if self.unrestricted:
            return None
        conds = []
        if self.zorgkantoor_code:
            conds.append(ClientSignal.zorgkantoor_code == self.zorgkantoor_code)
        if self.agb_code:
            conds.append(ClientSignal.provider_agb == self.agb_code)
        if self.party_id:
            conds.append(ClientSignal.provider_party_id == self.party_id)
        return or_(*conds) if conds else false()

    def allows(
        self,
        *,
        zorgkantoor_code: str | None,
        provider_agb: str | None,
        provider_party_id: uuid.UUID | None = None,
    ) -> bool:
        if self.unrestricted:
            return True
        return bool(
            (self.zorgkantoor_code and zorgkantoor_code == self.zorgkantoor_code)
            or (self.agb_code and provider_agb == self.agb_code)
            or (self.party_id and provider_party_id == self.party_id)
        )


UNRESTRICTED = SignalScope(unrestricted=True)


async def scope_for(session: AsyncSession, principal: Principal) -> SignalScope:
    if principal.party_id is None:
        return UNRESTRICTED
    party = await session.get(Party, principal.party_id)
    if party is None or not (party.zorgkantoor_code or party.agb_code):
        raise Forbidden(
            "This key is bound to a party without a zorgkantoor or AGB code, so it has no signals."
        )
    return SignalScope(False, party.id, party.zorgkantoor_code, party.agb_code)
