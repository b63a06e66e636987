"""The bundled offline snapshot: illustrative feed pages (origin `sample`) read by the same parser and
ingest as the live feed (see shared.tk.offline)."""

from __future__ import annotations

from pathlib import Path

from shared.tk.parse import iter_entries

SNAPSHOT_DIR = Path(__file__).parent / "snapshot"


class DirectorySource:
    """Pages from `<root>/<Category>/page-*.xml`, answering like the feed does for a skiptoken."""

    def __init__(self, root: Path = SNAPSHOT_DIR) -> None:
        self.root = Path(root)
        self.requests = 0
        self._last_tokens: dict[Path, int] = {}

    def _pages(self, category: str) -> list[Path]:
        return sorted((self.root / category).glob("page-*.xml"))

    def _last_token(self, page: Path) -> int:
        if page not in self._last_tokens:
            self._last_tokens[page] = max(
                (e.token for e in iter_entries(page.read_bytes()) if e.token is not None), default=-1
            )
        return self._last_tokens[page]

    async def fetch_page(self, category: str, skiptoken: int | None) -> bytes:
        self.requests += 1
        for page in self._pages(category):
            if skiptoken is None or self._last_token(page) > skiptoken:
                return page.read_bytes()
        return (
            b'<?xml version="1.0" encoding="utf-8"?>'
            b'<feed xmlns="http://www.w3.org/2005/Atom"><title>Gegevensmagazijn SyncFeed</title></feed>'
        )
