from __future__ import annotations

from sqlalchemy import select

from shared.crud import Repository
from shared.pagination import SortField, Sorting
from shared.themes.models import Theme


class ThemeRepository(Repository[Theme]):
    model = Theme
    resource = "theme"
    sorting = Sorting(fields={"key": SortField(Theme.key)}, id_column=Theme.key, default="key", id_kind="str")

    async def existing_keys(self, keys: set[str]) -> set[str]:
        if not keys:
            return set()
        rows = await self.session.execute(select(Theme.key).where(Theme.key.in_(keys)))
        return set(rows.scalars())

    async def get_many(self, keys: list[str]) -> list[Theme]:
        if not keys:
            return []
        rows = await self.session.execute(select(Theme).where(Theme.key.in_(keys)).order_by(Theme.key))
        return list(rows.scalars())
