"""Helpers for the board tests: parse a page, find seed records through the API."""

from __future__ import annotations

from typing import Any

import httpx
import lxml.html

FOKUS_ZZP = "fokus-zzp-afbouw-2026-07-01"
VWS_REACTIE = "vws-kabinetsreactie-q-consult-rapport"
VL_SOURCE = "vl-voortgangsrapportage-2020"


async def html(client: httpx.AsyncClient, url: str, status: int = 200, **kwargs: Any) -> Any:
    response = await client.get(url, **kwargs)
    assert response.status_code == status, (url, response.status_code, response.text[:2000])
    assert response.headers["content-type"].startswith("text/html")
    return lxml.html.fromstring(response.text)


async def by_key(client: httpx.AsyncClient, path: str, key: str) -> dict[str, Any]:
    """A seed record by its key, through the API."""
    cursor = None
    while True:
        page = (
            await client.get(path, params={"limit": 500, **({"cursor": cursor} if cursor else {})})
        ).json()
        for item in page["items"]:
            if item.get("key") == key:
                return item
        cursor = page["next_cursor"]
        if not cursor:
            raise AssertionError(f"no {key} in {path}")


def text(node: Any) -> str:
    return " ".join(node.text_content().split())
