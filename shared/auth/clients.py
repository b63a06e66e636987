"""OAuth2 clients: created, rotated, revoked and listed by an operator (`nakoming clients ...`); authenticated at
the token endpoint by secret (client_secret_basic) or by a signed assertion (private_key_jwt, RFC 7523)."""

from __future__ import annotations

import hmac
import json
import secrets
import uuid
from dataclasses import dataclass
from typing import Any

from joserfc import jws, jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from shared.auth.models import OAuthClient
from shared.auth.revocation import bump_epoch
from shared.auth.service import check_binding, hash_key, parse_scopes
from shared.auth.tokens import ALGORITHM_OF, TokenRejected, check_claims
from shared.db import utcnow
from shared.errors import ValidationFailed, field_error

CLIENT_ID_PREFIX = "nkc_"
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
ASSERTION_ALGORITHMS = sorted(set(ALGORITHM_OF.values()))
ASSERTION_MAX_SECONDS = 300  # an assertion is for one token request, not a long-lived credential


@dataclass(frozen=True)
class ClientState:
    """What a token's validity depends on, besides its signature: whether the client still exists unrevoked
    under the same generation, and who it is (name, party, the scopes it may hold)."""

    client_id: str
    name: str
    scopes: frozenset[str]
    party_id: uuid.UUID | None
    generation: int


def _state(client: OAuthClient) -> ClientState:
    return ClientState(
        client.client_id, client.name, frozenset(client.scopes), client.party_id, client.generation
    )


def _public_jwks(jwks: dict[str, Any] | None) -> dict[str, Any] | None:
    """A client's registered keys, public parts only (a private key sent by mistake is not stored)."""
    if jwks is None:
        return None
    try:
        keys = KeySet.import_key_set(jwks)  # type: ignore[arg-type]
    except (JoseError, ValueError, TypeError, KeyError) as exc:
        raise ValidationFailed(
            f"Not a JWKS: {exc}", [field_error(["jwks"], "invalid JWKS", "jwks")]
        ) from None
    if not keys.keys or any(k.key_type not in ALGORITHM_OF for k in keys.keys):
        raise ValidationFailed(
            "The JWKS needs at least one EC, RSA or OKP public key.",
            [field_error(["jwks"], "no usable key", "jwks")],
        )
    return dict(keys.as_dict(private=False))


async def create_client(
    session: AsyncSession,
    *,
    name: str,
    scopes: list[str] | str,
    party_id: uuid.UUID | None = None,
    jwks: dict[str, Any] | None = None,
) -> tuple[OAuthClient, str | None]:
    """A new client and its secret (None when it authenticates with its JWKS only); only the secret's hash is kept."""
    wanted = parse_scopes(scopes)
    await check_binding(session, wanted, party_id)
    secret = None if jwks is not None else secrets.token_urlsafe(32)
    client = OAuthClient(
        client_id=CLIENT_ID_PREFIX + secrets.token_hex(8),
        name=name,
        scopes=wanted,
        party_id=party_id,
        jwks=_public_jwks(jwks),
        generation=1,
        secret_hash=hash_key(secret) if secret else None,
    )
    session.add(client)
    await session.flush()
    return client, secret


async def _active(session: AsyncSession, client_id: str) -> OAuthClient | None:
    return (
        await session.execute(
            select(OAuthClient).where(OAuthClient.client_id == client_id, OAuthClient.revoked_at.is_(None))
        )
    ).scalar()


async def rotate_secret(session: AsyncSession, client_id: str) -> str | None:
    """A new secret (printed once); the old secret and every token issued under it stop working."""
    client = await _active(session, client_id)
    if client is None:
        return None
    secret = secrets.token_urlsafe(32)
    client.secret_hash = hash_key(secret)
    client.generation += 1
    await bump_epoch(session)
    return secret


async def revoke_client(session: AsyncSession, client_id: str) -> bool:
    client = await _active(session, client_id)
    if client is None:
        return False
    client.revoked_at = utcnow()
    client.generation += 1
    await bump_epoch(session)
    return True


async def list_clients(session: AsyncSession) -> list[OAuthClient]:
    return list((await session.execute(select(OAuthClient).order_by(OAuthClient.created_at))).scalars())


async def client_state(session: AsyncSession, client_id: str) -> ClientState | None:
    """The client a token names, when it is still active."""
    client = await _active(session, client_id)
    return _state(client) if client is not None else None


async def by_secret(session: AsyncSession, client_id: str, secret: str) -> ClientState | None:
    """client_secret_basic: the client, when the secret is its current one."""
    client = await _active(session, client_id)
    if client is None or client.secret_hash is None:
        return None
    return _state(client) if hmac.compare_digest(client.secret_hash, hash_key(secret)) else None


async def by_assertion(session: AsyncSession, assertion: str, *, audiences: list[str]) -> ClientState:
    """private_key_jwt (RFC 7523 §3): a JWT the client signed with a key of its registered JWKS, iss = sub =
    client_id, aud = this server's token endpoint (or issuer), short-lived. TokenRejected otherwise."""
    try:  # unverified, only to find whose keys to verify it with
        claimed = json.loads(jws.extract_compact(assertion.encode()).payload or b"")
    except (JoseError, ValueError, TypeError):
        raise TokenRejected("malformed client assertion") from None
    client_id = claimed.get("sub") if isinstance(claimed, dict) else None
    client = await _active(session, client_id) if isinstance(client_id, str) else None
    if client is None or not client.jwks:
        raise TokenRejected("unknown client, or one without registered keys")
    keys = KeySet.import_key_set(client.jwks)  # type: ignore[arg-type]
    try:
        verified = jwt.decode(assertion, keys, algorithms=ASSERTION_ALGORITHMS)
    except JoseError as exc:
        raise TokenRejected(f"client assertion signature check failed ({exc.error})") from None
    claims = verified.claims
    check_claims(claims, issuer=client.client_id, audience=audiences, required=("iss", "sub", "aud", "exp"))
    if claims.get("sub") != client.client_id:
        raise TokenRejected("client assertion: sub must be the client_id")
    now = utcnow().timestamp()
    if claims["exp"] - claims.get("iat", now) > ASSERTION_MAX_SECONDS:
        raise TokenRejected(f"client assertion lives longer than {ASSERTION_MAX_SECONDS} s")
    return _state(client)
