"""Standard Webhooks signatures (https://www.standardwebhooks.com), made by the `standardwebhooks` package."""

from __future__ import annotations

import base64
import datetime as dt
import secrets

from standardwebhooks.webhooks import Webhook as Signer

PREFIX = "whsec_"


def new_secret() -> str:
    """`whsec_` + base64 of 32 random bytes (the specification's form)."""
    return PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def headers(secret: str, message_id: str, timestamp: dt.datetime, body: str) -> dict[str, str]:
    """`webhook-id`, `webhook-timestamp` and `webhook-signature` (v1, HMAC-SHA256 of id.timestamp.body)."""
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(int(timestamp.timestamp())),
        "webhook-signature": Signer(secret).sign(message_id, timestamp, body),
    }
