from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import JSON, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from shared.db import Base, TimestampMixin, UTCDateTime, new_id, utcnow

JSON_LIST = JSON


class ApiKey(TimestampMixin, Base):
    """An API key. Only a SHA-256 hash of the secret is stored: keys are 256-bit random tokens,
    so a slow password hash adds nothing but latency to every request."""

    __tablename__ = "api_keys"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(200))
    prefix: Mapped[str] = mapped_column(String(16), index=True)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    scopes: Mapped[list[str]] = mapped_column(JSON_LIST)
    party_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("parties.id", ondelete="CASCADE"), index=True
    )
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    last_used_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class OAuthClient(TimestampMixin, Base):
    """A system that authenticates with OAuth2 client credentials (RFC 6749 §4.4).

    It proves itself with a secret (only its SHA-256 is stored, as for API keys: a 256-bit random secret needs
    no slow hash) or with a JWT signed by a key of its registered JWKS (private_key_jwt, RFC 7523). `generation`
    goes up on every rotation and on revocation; access tokens carry the generation they were issued under, so
    rotating the secret also ends the tokens issued with the old one.
    """

    __tablename__ = "oauth_clients"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id)
    client_id: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    secret_hash: Mapped[str | None] = mapped_column(String(64))
    jwks: Mapped[dict | None] = mapped_column(JSON)
    scopes: Mapped[list[str]] = mapped_column(JSON_LIST)
    party_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("parties.id", ondelete="CASCADE"), index=True
    )
    generation: Mapped[int] = mapped_column(default=1)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class SigningKey(Base):
    """A token signing key generated for a database that has none from settings (development, test, embedded):
    every process on the same database signs and verifies with the same key, and it survives restarts.
    Production takes its keys from NAKOMING_OAUTH_SIGNING_KEYS instead."""

    __tablename__ = "oauth_signing_keys"

    kid: Mapped[str] = mapped_column(String(100), primary_key=True)
    private_jwk: Mapped[dict] = mapped_column(JSON)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class AuthEpoch(Base):
    """One row whose `value` goes up with every revocation or rotation of a key or client. Each API process
    watches it (services/api/revocation.py) and forgets every credential it remembered when it moves."""

    __tablename__ = "auth_epoch"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    value: Mapped[int] = mapped_column(Integer, default=0)
