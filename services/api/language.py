"""The reader's language for explanations: Accept-Language (nl by default, en supported), one ASGI middleware."""

from __future__ import annotations

from typing import Any

from shared.status.messages import language, reader_language


class LanguageMiddleware:
    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        header = next((v for k, v in scope.get("headers", ()) if k == b"accept-language"), b"")
        token = reader_language.set(language(header.decode("latin-1")[:200]))

        async def send_with_vary(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", ()))
                headers.append((b"vary", b"Accept-Language"))
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, send_with_vary)
        finally:
            reader_language.reset(token)
