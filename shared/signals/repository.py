from __future__ import annotations

from typing import Any

from sqlalchemy import select

from shared.crud import Repository
from shared.pagination import SortField, Sorting
from shared.signals.models import ClientSignal, client_signal_commitments, client_signal_themes
from shared.signals.schemas import SignalFilters


class SignalRepository(Repository[ClientSignal]):
    model = ClientSignal
    resource = "signal"
    sorting = Sorting(
        fields={
            "received_date": SortField(ClientSignal.received_date, "date"),
            "created_at": SortField(ClientSignal.created_at, "datetime"),
            "external_id": SortField(ClientSignal.external_id, "str"),
        },
        id_column=ClientSignal.id,
        default="-received_date",
    )

    @staticmethod
    def conditions(filters: SignalFilters) -> list[Any]:
        conds: list[Any] = []
        c = ClientSignal
        for name in (
            "kind",
            "status",
            "provider_agb",
            "zorgkantoor_code",
            "location",
            "source_system",
            "external_id",
            "batch_id",
        ):
            value = getattr(filters, name)
            if value is not None:
                conds.append(getattr(c, name) == value)
        if filters.theme:
            conds.append(
                c.id.in_(
                    select(client_signal_themes.c.signal_id).where(
                        client_signal_themes.c.theme_key == filters.theme
                    )
                )
            )
        if filters.commitment_id:
            conds.append(
                c.id.in_(
                    select(client_signal_commitments.c.signal_id).where(
                        client_signal_commitments.c.commitment_id == filters.commitment_id
                    )
                )
            )
        if filters.received_from:
            conds.append(c.received_date >= filters.received_from)
        if filters.received_to:
            conds.append(c.received_date <= filters.received_to)
        return conds

    async def by_natural_key(self, source_system: str, external_id: str) -> ClientSignal | None:
        return await self.get_by(source_system=source_system, external_id=external_id)
