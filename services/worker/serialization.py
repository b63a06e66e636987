"""JSON for arq jobs instead of pickle: job payloads are plain ids and dates, and pickle would let
anyone who can write to Redis run code in the worker."""

from __future__ import annotations

from typing import Any

import orjson


def job_serializer(data: Any) -> bytes:
    return orjson.dumps(data, default=str)


def job_deserializer(raw: bytes) -> Any:
    return orjson.loads(raw)
