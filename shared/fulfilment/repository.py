from __future__ import annotations

import uuid

from sqlalchemy import select

from shared.crud import Repository
from shared.fulfilment.models import Fulfilment
from shared.pagination import SortField, Sorting


class FulfilmentRepository(Repository[Fulfilment]):
    model = Fulfilment
    resource = "fulfilment record"
    sorting = Sorting(
        fields={"period_key": SortField(Fulfilment.period_key)},
        id_column=Fulfilment.id,
        default="-period_key",
    )

    async def for_period(self, commitment_id: uuid.UUID, period_key: str) -> Fulfilment | None:
        return (
            (
                await self.session.execute(
                    select(Fulfilment).where(
                        Fulfilment.commitment_id == commitment_id, Fulfilment.period_key == period_key
                    )
                )
            )
            .scalars()
            .first()
        )
