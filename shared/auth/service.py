"""API keys: `nk_<prefix>_<secret>`; the prefix finds the row, a SHA-256 of the whole key proves it."""

from __future__ import annotations

import datetime as dt
import enum
import hashlib
import hmac
import secrets
import uuid
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from shared.auth.models import ApiKey
from shared.auth.revocation import bump_epoch
from shared.db import utcnow
from shared.errors import ValidationFailed, field_error
from shared.parties.models import Party
from shared.signals.privacy import holds_bsn


class Scope(enum.StrEnum):
    read = "read"
    write = "write"
    signals_write = "signals:write"
    signals_read = "signals:read"
    admin = "admin"


@dataclass(frozen=True)
class Principal:
    """Who is calling: an API key (`key_id`), an OAuth2 client (`client_id`, from an access token) or a person
    (`subject`, `issuer#sub` from an external OIDC token; `name` is then their display name). The same
    scopes and party rules apply to each; the audit log tells them apart by these fields."""

    key_id: uuid.UUID | None
    name: str
    scopes: frozenset[str] = field(default_factory=frozenset)
    party_id: uuid.UUID | None = None
    client_id: str | None = None
    subject: str | None = None

    @property
    def is_anonymous(self) -> bool:
        return self.key_id is None and self.client_id is None and self.subject is None

    @property
    def identity(self) -> str:
        """A stable short name of the credential (at most 64 characters): whose idempotency keys, whose rate."""
        if self.key_id is not None:
            return str(self.key_id)
        if self.client_id is not None:
            return f"client:{self.client_id}"
        if self.subject is not None:
            return "person:" + hashlib.sha256(self.subject.encode()).hexdigest()[:56]
        return "anonymous"

    def has(self, scope: str) -> bool:
        return scope in self.scopes or Scope.admin in self.scopes


ANONYMOUS = Principal(key_id=None, name="anonymous")


def hash_key(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def parse_scopes(raw: str | list[str]) -> list[str]:
    items = raw.split(",") if isinstance(raw, str) else raw
    scopes = [s.strip() for s in items if s.strip()]
    allowed = {s.value for s in Scope}
    unknown = [s for s in scopes if s not in allowed]
    if unknown or not scopes:
        raise ValidationFailed(
            f"Unknown or missing scopes {unknown}; choose from {sorted(allowed)}.",
            [field_error(["scopes"], "unknown scope", "enum")],
        )
    return list(dict.fromkeys(scopes))


SIGNAL_SCOPES = frozenset({Scope.signals_read, Scope.signals_write})


async def check_binding(session: AsyncSession, scopes: list[str], party_id: uuid.UUID | None) -> None:
    """The rule for binding a credential (API key or OAuth2 client) to a party: the party exists, and a
    credential with a signals scope is bound only to a party with a zorgkantoor or AGB code, since those codes
    are what decide which client signals it sees (without one it would see none, silently)."""
    if party_id is None:
        return
    party = await session.get(Party, party_id)
    if party is None:
        raise ValidationFailed(
            f"No party with id {party_id}.", [field_error(["party"], "unknown party", "reference")]
        )
    if SIGNAL_SCOPES.intersection(scopes) and not (party.zorgkantoor_code or party.agb_code):
        raise ValidationFailed(
            f"Party {party.name!r} has no zorgkantoor or AGB code, so a credential with a signals scope bound to it "
            f"would see no signals. An admin sets the code first: PATCH /v1/parties/{party.id} with "
            '{"zorgkantoor_code": "<4 digits>"} or {"agb_code": "<8 digits>"} and an admin key.',
            [field_error(["party"], "party has no zorgkantoor or AGB code", "binding")],
        )


async def create_api_key(
    session: AsyncSession, *, name: str, scopes: list[str], party_id: uuid.UUID | None = None
) -> tuple[ApiKey, str]:
    if holds_bsn(name):  # a key's name is shown as created_by / updated_by on records anyone may read
        raise ValidationFailed(
            "The key's name holds a number that passes the BSN eleven-test; BSNs may not be stored.",
            [field_error(["name"], "looks like a BSN", "bsn")],
        )
    await check_binding(session, scopes, party_id)
    prefix = secrets.token_hex(4)
    raw = f"nk_{prefix}_{secrets.token_urlsafe(32)}"
    key = ApiKey(
        name=name, prefix=prefix, key_hash=hash_key(raw), scopes=parse_scopes(scopes), party_id=party_id
    )
    session.add(key)
    await session.flush()
    return key, raw


async def authenticate(session: AsyncSession, raw: str) -> Principal | None:
    parts = raw.split("_")
    if len(parts) < 3 or parts[0] != "nk":
        return None
    digest = hash_key(raw)
    row = (
        (await session.execute(select(ApiKey).where(ApiKey.prefix == parts[1], ApiKey.revoked_at.is_(None))))
        .scalars()
        .all()
    )
    for key in row:
        if hmac.compare_digest(key.key_hash, digest):
            return Principal(
                key_id=key.id, name=key.name, scopes=frozenset(key.scopes), party_id=key.party_id
            )
    return None


async def revoke(session: AsyncSession, key_id: uuid.UUID, when: dt.datetime | None = None) -> bool:
    key = await session.get(ApiKey, key_id)
    if key is None or key.revoked_at is not None:
        return False
    key.revoked_at = when or utcnow()
    await bump_epoch(session)
    return True
