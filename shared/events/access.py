"""Which events a reader may see: the same rules as the records behind them.

Commitments, milestones, fulfilment and TK records are read by whoever may read at all (the route's Reader
rule), so their events are `public`. A signal batch is seen by unbound keys with signals:read and by keys of the
party that sent it (shared/signals/batches.py `batch_view`); its event carries counts only, never content.
Events about a webhook go to its party's keys, or to staff (unbound write keys).

One definition for both readers of the feed: `GET /v1/events` (as a condition) and the webhook fan-out (as a
test per event), so a subscription never receives what its creator could not read.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, or_

from shared.auth.service import Principal, Scope
from shared.events.models import Event
from shared.events.service import Audience


@dataclass(frozen=True)
class EventReader:
    party_id: uuid.UUID | None
    signals: bool  # may read signal batches (scope signals:read)
    staff: bool  # an unbound key with write

    @classmethod
    def of(cls, principal: Principal) -> EventReader:
        return cls(
            principal.party_id,
            principal.has(Scope.signals_read),
            principal.party_id is None and principal.has(Scope.write),
        )

    def _sees(self, audience: str, party_id: uuid.UUID | None) -> bool:
        if audience == Audience.public:
            return True
        if audience == Audience.signals:
            return self.signals and (self.party_id is None or party_id == self.party_id)
        if audience == Audience.party:
            return self.staff or (self.party_id is not None and party_id == self.party_id)
        return False

    def allows(self, event: Any) -> bool:
        return self._sees(event.audience, event.party_id)

    def condition(self) -> Any:
        own = Event.party_id == self.party_id
        conds: list[Any] = [Event.audience == str(Audience.public)]
        if self.signals:
            conds.append(
                Event.audience == str(Audience.signals)
                if self.party_id is None
                else and_(Event.audience == str(Audience.signals), own)
            )
        if self.staff:
            conds.append(Event.audience == str(Audience.party))
        elif self.party_id is not None:
            conds.append(and_(Event.audience == str(Audience.party), own))
        return or_(*conds)
