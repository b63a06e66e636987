"""Bearer JWTs beside API keys: access tokens this server issued (OAuth2 client credentials) and those of the
external OIDC issuers in settings. Both become the same Principal an API key does; the caller (deps.py) caches
it like a key's, until the token expires at the latest."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from joserfc import jws
from joserfc.errors import JoseError
from starlette.requests import HTTPConnection

from shared.auth.clients import client_state
from shared.auth.oidc import People
from shared.auth.service import Principal
from shared.auth.tokens import Signer, TokenRejected


def looks_like_jwt(token: str) -> bool:
    return token.count(".") == 2 and not token.startswith("nk_")


def issuer_of(request: HTTPConnection) -> str:
    """This server's `iss`: NAKOMING_OAUTH_ISSUER, else the URL it is reached at."""
    configured = request.app.state.settings.oauth_issuer
    return configured.rstrip("/") if configured else str(request.base_url).rstrip("/")


@dataclass(frozen=True)
class Verified:
    principal: Principal
    expires_at: int  # the token's exp (Unix time): no cache keeps it longer


async def verify(request: HTTPConnection, token: str) -> Verified:
    """The principal a bearer JWT stands for, or TokenRejected saying why."""
    try:
        unverified = jws.extract_compact(token.encode())
        claims = json.loads(unverified.payload or b"")
    except (JoseError, ValueError, TypeError):
        raise TokenRejected("malformed token") from None
    if not isinstance(claims, dict):
        raise TokenRejected("malformed token")
    app = request.app
    people: People | None = getattr(app.state, "people", None)
    external = people.issuer(claims.get("iss")) if people is not None else None
    if external is not None:
        principal, expires = await people.principal(token, external, unverified.headers().get("kid"))  # type: ignore[union-attr]
        return Verified(principal, expires)
    signer: Signer | None = await app.state.signers.get()
    if signer is None:
        raise TokenRejected("this server issues no tokens (NAKOMING_OAUTH_SIGNING_KEYS is not set)")
    settings = app.state.settings
    checked = signer.verify(token, issuer=issuer_of(request), audience=settings.oauth_audience)
    return Verified(await _client_principal(app, checked), int(checked["exp"]))


async def _client_principal(app: Any, claims: dict[str, Any]) -> Principal:
    """The token's client must still be active under the generation the token was issued in (revocation and
    secret rotation end its tokens); its scopes are the token's, never more than the client holds now."""
    async with app.state.session_factory() as db:
        state = await client_state(db, str(claims["client_id"]))
        await db.rollback()
    if state is None or claims.get("gen") != state.generation:
        raise TokenRejected("the client was revoked or its secret rotated")
    scopes = frozenset(str(claims.get("scope", "")).split()) & state.scopes
    return Principal(
        key_id=None, name=state.name, scopes=scopes, party_id=state.party_id, client_id=state.client_id
    )
