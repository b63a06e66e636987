"""People behind front-ends: access tokens of external OpenID Connect issuers (NAKOMING_OIDC_ISSUERS), accepted
as a resource server. The issuer's keys are fetched from its jwks_uri, kept for NAKOMING_OIDC_JWKS_CACHE_SECONDS
and fetched again early when a token names a key id not among them (an issuer rotated its keys), at most once
per NAKOMING_OIDC_JWKS_REFRESH_SECONDS so a stream of made-up kids cannot turn into a stream of fetches.

A person's principal carries only what the audit needs: their subject (`issuer#sub`) and display name."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Any

import httpx
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from shared.auth.service import Principal, Scope
from shared.auth.tokens import TokenRejected, check_claims
from shared.settings import OidcIssuer, Settings
from shared.signals.privacy import safe_text

SCOPE_NAMES = frozenset(s.value for s in Scope)


@dataclass
class _Fetched:
    keys: KeySet
    at: float  # when these keys were fetched
    tried: float  # when a fetch was last tried (failed ones included)


class JwksCache:
    """Each issuer's public keys, fetched with httpx and kept (see the module docstring for when they are renewed)."""

    def __init__(self, http: httpx.AsyncClient, *, keep_seconds: float, refresh_seconds: float) -> None:
        self.http = http
        self.keep_seconds = keep_seconds
        self.refresh_seconds = refresh_seconds
        self._fetched: dict[str, _Fetched] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        self.fetches = 0

    async def keys(self, issuer: OidcIssuer, kid: str | None) -> KeySet:
        known = self._fetched.get(issuer.jwks_uri)
        if known is not None and not self._renew(known, kid):
            return known.keys
        async with self._locks.setdefault(issuer.jwks_uri, asyncio.Lock()):
            known = self._fetched.get(issuer.jwks_uri)  # another request may have fetched them meanwhile
            if known is None or self._renew(known, kid):
                known = await self._fetch(issuer.jwks_uri, known)
        return known.keys

    async def close(self) -> None:
        await self.http.aclose()

    def _renew(self, known: _Fetched, kid: str | None) -> bool:
        now = time.monotonic()
        if now - known.tried < self.refresh_seconds:
            return False
        return now - known.at > self.keep_seconds or (kid is not None and not _has(known.keys, kid))

    async def _fetch(self, uri: str, known: _Fetched | None) -> _Fetched:
        self.fetches += 1
        now = time.monotonic()
        try:
            response = await self.http.get(uri, headers={"Accept": "application/json"})
            response.raise_for_status()
            fetched = _Fetched(KeySet.import_key_set(response.json()), now, now)
        except (httpx.HTTPError, ValueError, JoseError, KeyError, TypeError):
            if known is None:
                raise TokenRejected("the issuer's keys could not be fetched") from None
            known.tried = now  # keep the keys we have; try again after the refresh interval
            return known
        self._fetched[uri] = fetched
        return fetched


def _has(keys: KeySet, kid: str) -> bool:
    return any(k.kid == kid for k in keys.keys)


class People:
    """Turns a configured issuer's access token into the Principal of the person it names."""

    def __init__(self, settings: Settings, jwks: JwksCache) -> None:
        self.issuers = {i.issuer: i for i in settings.oidc_issuers}
        self.jwks = jwks

    def issuer(self, iss: Any) -> OidcIssuer | None:
        return self.issuers.get(iss) if isinstance(iss, str) else None

    async def principal(self, token: str, issuer: OidcIssuer, kid: str | None) -> tuple[Principal, int]:
        """(the person, when their token expires) or TokenRejected."""
        keys = await self.jwks.keys(issuer, kid)
        try:
            decoded = jwt.decode(token, keys, algorithms=issuer.algorithms)
        except JoseError as exc:
            raise TokenRejected(f"signature check failed ({exc.error})") from None
        claims = decoded.claims
        check_claims(
            claims, issuer=issuer.issuer, audience=issuer.audience, required=("iss", "sub", "aud", "exp")
        )
        name = claims.get(issuer.name_claim)
        subject = safe_text(f"{issuer.issuer}#{claims['sub']}")[:300]
        principal = Principal(
            key_id=None,
            name=safe_text(str(name))[:200] if name else subject[:200],
            scopes=_scopes(issuer, claims.get(issuer.scopes_claim)),
            party_id=_party(issuer, claims),
            subject=subject,
        )
        return principal, int(claims["exp"])


def _scopes(issuer: OidcIssuer, raw: Any) -> frozenset[str]:
    values = (
        raw.split()
        if isinstance(raw, str)
        else [v for v in raw if isinstance(v, str)]
        if isinstance(raw, list)
        else []
    )
    if not issuer.scope_map:
        return frozenset(v for v in values if v in SCOPE_NAMES)
    return frozenset(s for v in values for s in issuer.scope_map.get(v, ()) if s in SCOPE_NAMES)


def _party(issuer: OidcIssuer, claims: dict[str, Any]) -> Any:
    if issuer.party_claim is None:
        return issuer.party
    value = claims.get(issuer.party_claim)
    party = issuer.party_map.get(value) if isinstance(value, str) else None
    if party is None:
        raise TokenRejected(f"the token's {issuer.party_claim!r} names no configured party")
    return party
