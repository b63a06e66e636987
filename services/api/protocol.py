"""uvicorn's HTTP protocol, answering the requests it refuses itself (before the app sees them) as problems.

uvicorn answers a request its parser cannot take with a plain-text 400 "Invalid HTTP request received.". The one a
client can cause with a valid request is a URL too long for the parser (httptools stores URL offsets in 16 bits:
about 64 kB): that is a 414, as the app answers for URLs over MAX_URL_BYTES. Everything else stays a 400, both as
application/problem+json with an X-Request-ID, like every other answer of the API.
"""

from __future__ import annotations

import random

import orjson
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from services.api.middleware import MAX_URL_BYTES
from shared.errors import PROBLEM_BASE

_ids = random.Random()


class ProblemHttpToolsProtocol(HttpToolsProtocol):
    def send_400_response(self, msg: str) -> None:
        if len(getattr(self, "url", b"") or b"") > MAX_URL_BYTES:
            status, reason, slug, title = 414, b"URI Too Long", "uri-too-long", "URI too long"
            detail = f"The URL is longer than {MAX_URL_BYTES:,} bytes."
        else:
            status, reason, slug, title = 400, b"Bad Request", "bad-request", "Bad request"
            detail = "The request is not valid HTTP/1.1."
        request_id = f"{_ids.getrandbits(128):032x}"
        body = orjson.dumps(
            {
                "type": PROBLEM_BASE + slug,
                "title": title,
                "status": status,
                "detail": detail,
                "request_id": request_id,
            }
        )
        content = [b"HTTP/1.1 %d %s\r\n" % (status, reason)]
        for name, value in self.server_state.default_headers:
            content.extend([name, b": ", value, b"\r\n"])
        content.extend(
            [
                b"content-type: application/problem+json\r\n",
                b"content-length: " + str(len(body)).encode("ascii") + b"\r\n",
                b"x-request-id: " + request_id.encode("ascii") + b"\r\n",
                b"connection: close\r\n\r\n",
                body,
            ]
        )
        self.transport.write(b"".join(content))
        self.transport.close()


HTTP_PROTOCOL = f"{__name__}:ProblemHttpToolsProtocol"
