"""With public reads off the board asks for a key, keeps it in an HttpOnly cookie for /board only, and sends
it to the API as a bearer; a key without read access is refused the same way the API refuses it."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager

from services.api.app import create_app
from shared.pg import JoinedConnection

pytestmark = pytest.mark.usefixtures("seeded")


async def test_private_reads_ask_for_a_key(
    settings: Any, connection: Any, session_factory: Any, queue: Any, make_key: Any
) -> None:
    private = settings.model_copy(update={"public_read": False})
    raw = JoinedConnection(connection) if connection.dialect.name == "postgresql" else None
    app = create_app(
        private, engine=connection.engine, session_factory=session_factory, queue=queue, raw_db=raw
    )
    async with (
        LifespanManager(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://board.test") as c,
    ):
        asked = await c.get("/board/tk", params={"lang": "en"})
        assert asked.status_code == 401
        assert 'type="password"' in asked.text and 'for="k-key"' in asked.text and 'lang="en"' in asked.text
        assert "does not give read access" not in asked.text
        reader = (await make_key(["read"]))["Authorization"].removeprefix("Bearer ")
        stored = await c.post("/board/key", data={"key": reader, "next": "/board/tk?lang=en"})
        assert stored.status_code == 303 and stored.headers["location"] == "/board/tk?lang=en"
        cookie = stored.headers["set-cookie"].lower()
        assert "httponly" in cookie and "samesite=strict" in cookie and "path=/board" in cookie
        page = await c.get("/board/tk", params={"lang": "en"})
        assert page.status_code == 200 and page.headers["cache-control"] == "private, no-store"
        assert (await c.get("/board")).status_code == 200
        assert reader not in page.text  # the key never appears in a page

        signals_only = (await make_key(["signals:write"]))["Authorization"].removeprefix("Bearer ")
        await c.post("/board/key", data={"key": signals_only})
        refused = await c.get("/board")
        assert refused.status_code == 401 and "Deze sleutel geeft geen leesrecht." in refused.text

        away = await c.post("/board/key", data={"key": reader, "next": "https://elsewhere.example/"})
        assert away.headers["location"] == "/board"
        assert (await c.post("/board/key", data={"key": reader, "next": "//elsewhere.example"})).headers[
            "location"
        ] == "/board"
        forgotten = await c.post("/board/key/forget")
        assert forgotten.status_code == 303 and 'nakoming_board_key=""' in forgotten.headers["set-cookie"]
        c.cookies.clear()
        assert (await c.get("/board")).status_code == 401
