from __future__ import annotations

from collections.abc import Iterable, Sequence

from shared.crud import CrudService
from shared.errors import ValidationFailed, field_error
from shared.themes.models import Theme
from shared.themes.repository import ThemeRepository


class ThemeService(CrudService[Theme]):
    repository_class = ThemeRepository

    async def resolve(
        self, keys: Sequence[str], loc: Iterable[str | int] = ("body", "themes")
    ) -> list[Theme]:
        """Themes by key; an unknown key is a 422 naming it (the list is controlled)."""
        wanted = list(dict.fromkeys(keys))
        found = await self.repo.get_many(wanted)  # type: ignore[attr-defined]
        missing = [k for k in wanted if k not in {t.key for t in found}]
        if missing:
            raise ValidationFailed(
                f"Unknown theme(s): {', '.join(missing)}. GET /v1/themes lists the controlled list.",
                [field_error([*loc, wanted.index(k)], f"unknown theme {k!r}", "enum") for k in missing],
            )
        return found
