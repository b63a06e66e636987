"""The board's only way to data: the public JSON API of the same process, called in-process over ASGI.

Every read goes through the API's own routes (auth, filters, localisation, suppression of small counts), as an
anonymous caller or with the reader's key as a bearer, so the board can never show what that caller could not
read from /v1 itself.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any

import httpx
import orjson
from sqlalchemy.ext.asyncio import AsyncConnection

PAGE = 500  # the API's largest page


class NeedsKey(Exception):
    """The API answered 401/403: reads are not public here, or the key given does not allow them."""


class NotFoundInApi(Exception):
    pass


class InvalidQuery(Exception):
    """The API refused the query (422): the names of the fields, never their values."""

    def __init__(self, fields: list[str]) -> None:
        super().__init__(", ".join(fields))
        self.fields = fields


class Api:
    def __init__(self, app: Any, *, language: str, key: str | None) -> None:
        client = getattr(app.state, "board_client", None)
        if client is None:
            # One client per app: ASGITransport holds no sockets, so nothing needs closing.
            client = httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app), base_url="http://board.internal"
            )
            app.state.board_client = client
        self._client = client
        # Independent reads of one page run concurrently, each on its own pooled session, so the database's
        # round trips overlap. Not when every session shares one connection (the tests' outer transaction):
        # a connection runs one statement at a time.
        factory = getattr(app.state, "session_factory", None)
        self.concurrent = not isinstance(getattr(factory, "kw", {}).get("bind"), AsyncConnection)
        self._headers = {"accept-language": language}
        if key:
            self._headers["authorization"] = f"Bearer {key}"

    async def get(self, path: str, **params: Any) -> Any:
        query = {k: str(v) for k, v in params.items() if v not in (None, "")}
        response = await self._client.get(path, params=query, headers=self._headers)
        if response.status_code in (401, 403):
            raise NeedsKey(response.status_code)
        if response.status_code == 404:
            raise NotFoundInApi(path)
        if response.status_code == 422:
            body = orjson.loads(response.content)
            raise InvalidQuery(
                [".".join(str(p) for p in e.get("loc", [])[1:]) for e in body.get("errors", [])]
            )
        response.raise_for_status()
        return orjson.loads(response.content)

    async def gather(self, *reads: Awaitable[Any]) -> list[Any]:
        if self.concurrent:
            return list(await asyncio.gather(*reads))
        return [await read for read in reads]

    async def get_or_none(self, path: str, **params: Any) -> Any:
        try:
            return await self.get(path, **params)
        except NotFoundInApi:
            return None

    async def all(self, path: str, **params: Any) -> list[dict[str, Any]]:
        """Every item of a list endpoint, page by page."""
        items: list[dict[str, Any]] = []
        cursor = None
        while True:
            page = await self.get(path, limit=PAGE, cursor=cursor, **params)
            items.extend(page["items"])
            cursor = page["next_cursor"]
            if not cursor:
                return items
