"""Access tokens this server issues: RFC 9068 JWTs (`typ: at+jwt`) signed with the current key of a key set.

The keys come from NAKOMING_OAUTH_SIGNING_KEYS (a JWKS with private keys; the first key signs, the others stay
published and accepted, which is how a key is rotated out). Without it, outside production, one key is generated
per database (table oauth_signing_keys), so every process on that database and every restart signs and verifies
alike. All signature and claim checks are joserfc's; this module only says which keys, algorithms and claims.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import time
from dataclasses import dataclass
from typing import Any

from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import ECKey, KeySet
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.auth.models import SigningKey
from shared.settings import Settings

TOKEN_TYPE = "at+jwt"
GENERATED_KID = "generated-1"
# Signature algorithm per key type; a key's own "alg" member wins. Never a symmetric one: the verifier only
# holds public keys, and an HS256 token "signed" with a public key must fail.
ALGORITHM_OF = {"EC": "ES256", "RSA": "RS256", "OKP": "EdDSA"}
LEEWAY_SECONDS = 5  # clock difference tolerated between this server's processes


class TokenRejected(Exception):
    """A bearer token that proves nothing; the message says why (for WWW-Authenticate error_description)."""


def algorithm(key: Any) -> str:
    return key.alg or ALGORITHM_OF[key.key_type]


@dataclass(frozen=True)
class Signer:
    """The current private key, and the public keys tokens are verified with (the current one first)."""

    current: Any
    public: KeySet

    @property
    def algorithms(self) -> list[str]:
        return sorted({algorithm(k) for k in self.public.keys})

    def jwks(self) -> dict[str, Any]:
        return dict(self.public.as_dict())

    def issue(self, claims: dict[str, Any]) -> str:
        header = {"alg": algorithm(self.current), "kid": self.current.kid, "typ": TOKEN_TYPE}
        return jwt.encode(header, claims, self.current, algorithms=[algorithm(self.current)])

    def verify(self, token: str, *, issuer: str, audience: str) -> dict[str, Any]:
        """The claims of a token this server signed for `audience`, or TokenRejected."""
        try:
            decoded = jwt.decode(token, self.public, algorithms=self.algorithms)
        except JoseError as exc:
            raise TokenRejected(f"signature check failed ({exc.error})") from None
        except ValueError:
            raise TokenRejected("malformed token") from None
        if decoded.header.get("typ", "").lower() not in (TOKEN_TYPE, f"application/{TOKEN_TYPE}"):
            raise TokenRejected(f"not an access token (typ must be {TOKEN_TYPE})")
        check_claims(
            decoded.claims,
            issuer=issuer,
            audience=audience,
            required=("iss", "sub", "aud", "exp", "iat", "jti", "client_id"),
        )
        return decoded.claims


def check_claims(
    claims: dict[str, Any], *, issuer: str, audience: str | list[str], required: tuple[str, ...]
) -> None:
    """exp, nbf, iat, iss and aud as RFC 7519 has them (joserfc's registry), or TokenRejected."""
    audiences = [audience] if isinstance(audience, str) else audience
    options: dict[str, Any] = {name: {"essential": True} for name in required}
    options["iss"] = {"essential": True, "value": issuer}
    options["aud"] = {"essential": True, "values": audiences}
    try:
        jwt.JWTClaimsRegistry(leeway=LEEWAY_SECONDS, **options).validate(claims)
    except JoseError as exc:
        raise TokenRejected(exc.description or exc.error) from None


def new_claims(*, issuer: str, audience: str, subject: str, lifetime: int, **extra: Any) -> dict[str, Any]:
    now = int(time.time())
    return {
        "iss": issuer,
        "sub": subject,
        "aud": audience,
        "iat": now,
        "nbf": now,
        "exp": now + lifetime,
        "jti": secrets.token_urlsafe(16),
        **extra,
    }


def key_set(private_jwks: dict[str, Any]) -> tuple[Any, KeySet]:
    """(the signing key, the public key set) of a private JWKS. A key without a `kid` gets its RFC 7638
    thumbprint as one (joserfc), so tokens always name their key."""
    keys = KeySet.import_key_set(private_jwks)  # type: ignore[arg-type]
    if not keys.keys:
        raise ValueError("the signing key set is empty")
    for key in keys.keys:
        if key.key_type not in ALGORITHM_OF or not key.is_private:
            raise ValueError(f"signing key {key.kid!r} must be a private EC, RSA or OKP key")
    public = KeySet.import_key_set(keys.as_dict(private=False))
    return keys.keys[0], public


def generate_jwk(kid: str) -> dict[str, Any]:
    """A new private P-256 key as a JWK (ES256: small tokens, fast signing)."""
    return dict(ECKey.generate_key("P-256", parameters={"kid": kid, "use": "sig"}).as_dict(private=True))


async def load_signer(settings: Settings, session_factory: async_sessionmaker[AsyncSession]) -> Signer | None:
    """The signer from settings, else this database's generated key (created on first use); None in production
    without NAKOMING_OAUTH_SIGNING_KEYS (a private key is not kept in the database there)."""
    if settings.oauth_signing_keys is not None:
        return Signer(*key_set(json.loads(settings.oauth_signing_keys.get_secret_value())))
    if settings.environment == "production":
        return None
    async with session_factory() as session:
        row = await session.get(SigningKey, GENERATED_KID)
        if row is None:
            session.add(SigningKey(kid=GENERATED_KID, private_jwk=generate_jwk(GENERATED_KID)))
            try:
                await session.commit()
            except IntegrityError:  # another process made it first: use theirs
                await session.rollback()
        rows = (await session.execute(select(SigningKey).order_by(SigningKey.created_at))).scalars().all()
        jwks = {"keys": [r.private_jwk for r in rows]}
        await session.rollback()
    return Signer(*key_set(jwks))


class SignerSource:
    """The signer, loaded when first needed. A generated key lives in the database, which may not answer while the
    process starts; the API must start anyway and answer 503 until it does (tests/faults). Keys from settings need
    no database and are loaded at start-up (`load_now`), so a bad NAKOMING_OAUTH_SIGNING_KEYS stops the start."""

    def __init__(self, settings: Settings, session_factory: async_sessionmaker[AsyncSession]) -> None:
        self.settings = settings
        self.session_factory = session_factory
        self._signer: Signer | None = None
        self._loaded = False
        self._lock = asyncio.Lock()

    @property
    def load_now(self) -> bool:
        return self.settings.oauth_signing_keys is not None or self.settings.environment == "production"

    async def get(self) -> Signer | None:
        if not self._loaded:
            async with self._lock:
                if not self._loaded:
                    self._signer = await load_signer(self.settings, self.session_factory)
                    self._loaded = True
        return self._signer
