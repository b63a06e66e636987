"""Single-signal intake on PostgreSQL in one statement on a raw asyncpg connection (the hot write path).

`POST /v1/signals` with an Idempotency-Key used to cost ~18 round trips over three sessions. Here the
whole unit of work is one statement of data-modifying CTEs, run in autocommit (so it is atomic by itself):

  party  the provider party of the AGB code (the response names it)
  claim  INSERT the Idempotency-Key record, already *completed* with the response to replay,
         ON CONFLICT (owner, key) DO NOTHING
  sig    INSERT the signal, only when the claim succeeded; a duplicate natural key is a unique violation
         that aborts the statement (claim included: a failed request leaves its key free)
  th/cm  theme and commitment links (unknown ones are foreign-key violations: the same)
  au     the audit entry

The key is therefore never visible in the "processing" state on this path: a concurrent request with the
same key waits on the unique index until the first commits and then finds the stored response (a replay),
or finds nothing when the first failed and claims the key itself. Records left "processing" by the session
path (SQLite, other endpoints) still get their 409. Whatever fails is sorted out afterwards with a few
reads (which theme is unknown, which signal has the natural key, what the key holds), off the hot path.

The response body is rendered by Python before the statement; only the provider party id, looked up in
the same statement, is spliced in by PostgreSQL between a prefix and a suffix of those bytes.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass
from typing import Any

import asyncpg
import orjson

from shared.audit.service import Actor
from shared.auth.service import Principal
from shared.commitments.models import Commitment
from shared.db import new_id, utcnow
from shared.errors import DuplicateKey, Forbidden, ValidationFailed, field_error
from shared.idempotency import service as store
from shared.idempotency.service import StoredResponse
from shared.pg import statement_scope
from shared.settings import Settings
from shared.signals.access import UNRESTRICTED, SignalScope
from shared.signals.privacy import Pseudonymiser
from shared.signals.schemas import SignalIn, SignalOut
from shared.signals.service import RESOURCE, Prepared, apply_scope, prepare, reference_errors

CREATE_ACTION = "signals.create"
_ATTEMPTS = 3

# The signal's columns as written at intake (the id, party and timestamps come from the other parameters).
_SIGNAL_VALUE_COLUMNS = (
    "source_system",
    "external_id",
    "kind",
    "channel",
    "severity",
    "received_date",
    "occurred_date",
    "provider_agb",
    "location",
    "zorgkantoor_code",
    "reporter_role",
    "anonymous",
    "status",
    "outcome",
    "client_pseudonym",
    "pseudonym_key_version",
    "summary",
    "judgement_due_date",
    "extension_recorded",
    "retention_date",
)
_FIRST_VALUE = 21  # $1..$20 are named below; the signal's values follow


def _intake_sql() -> str:
    values = ", ".join(f"${_FIRST_VALUE + i}" for i in range(len(_SIGNAL_VALUE_COLUMNS)))
    agb = f"${_FIRST_VALUE + _SIGNAL_VALUE_COLUMNS.index('provider_agb')}"
    received = f"${_FIRST_VALUE + _SIGNAL_VALUE_COLUMNS.index('received_date')}"
    columns = ", ".join(_SIGNAL_VALUE_COLUMNS)
    after = _FIRST_VALUE + len(_SIGNAL_VALUE_COLUMNS)
    who = f"${after}, ${after + 1}"  # the actor's client_id and subject follow the signal's values
    return f"""
WITH party AS (
    SELECT (SELECT p.id FROM parties p WHERE p.agb_code = {agb}) AS id
), claim AS (
    INSERT INTO idempotency_keys (id, owner, key, method, path, fingerprint, state, response_status,
                                  response_body, response_location, resource_id, created_at, expires_at)
    SELECT $2, $3, $4, $5, $6, $7, 'completed', 201,
           $8::bytea || convert_to(coalesce('"' || party.id::text || '"', 'null'), 'UTF8') || $9::bytea,
           $10, $1, $11, $12
    FROM party
    ON CONFLICT (owner, key) DO NOTHING
    RETURNING id
), sig AS (
    INSERT INTO client_signals (id, provider_party_id, created_at, updated_at, {columns})
    SELECT $1, party.id, $11, $11, {values}
    FROM party WHERE EXISTS (SELECT FROM claim)
    RETURNING id
), th AS (
    INSERT INTO client_signal_themes (signal_id, theme_key, received_date)
    SELECT sig.id, t.key, {received} FROM sig, unnest($13::text[]) AS t(key)
), cm AS (
    INSERT INTO client_signal_commitments (signal_id, commitment_id)
    SELECT sig.id, c.id FROM sig, unnest($14::uuid[]) AS c(id)
), au AS (
    INSERT INTO audit_log (id, at, actor, key_id, party_id, action, resource, record_ids, record_count,
                           request_id, detail, client_id, subject)
    SELECT $15, $11, $16, $17, $18, '{CREATE_ACTION}', '{RESOURCE}', $19::json, 1, $20, NULL, {who}
    FROM sig
)
SELECT (SELECT count(*) FROM sig) AS inserted, (SELECT id FROM party) AS party_id
"""


INTAKE_SQL = _intake_sql()

_EXISTING_KEY_SQL = (
    "SELECT id, fingerprint, state, response_status, response_body, response_location, "
    "created_at, expires_at FROM idempotency_keys WHERE owner = $1 AND key = $2"
)
_DROP_KEY_SQL = "DELETE FROM idempotency_keys WHERE id = $1"
_NATURAL_KEY_SQL = (
    "SELECT id, zorgkantoor_code, provider_agb, provider_party_id FROM client_signals "
    "WHERE source_system = $1 AND external_id = $2"
)
_PARTY_SQL = "SELECT id, zorgkantoor_code, agb_code FROM parties WHERE id = $1"
_KNOWN_THEMES_SQL = "SELECT key FROM themes WHERE key = ANY($1::text[])"
_KNOWN_COMMITMENTS_SQL = f"SELECT id FROM {Commitment.__tablename__} WHERE id = ANY($1::uuid[])"
_NATURAL_KEY_CONSTRAINT = "uq_client_signals_source_system_external_id"
_OUT_FIELDS = tuple(
    SignalOut.model_fields
)  # the response's fields, in the order the session path renders them


@dataclass(frozen=True)
class Created:
    body: bytes
    location: str
    commitment_ids: list[uuid.UUID]


@dataclass(frozen=True)
class Replay:
    stored: StoredResponse


async def raw_scope(conn: asyncpg.Connection, principal: Principal) -> SignalScope:
    """`shared.signals.access.scope_for` on a raw connection."""
    if principal.party_id is None:
        return UNRESTRICTED
    row = await conn.fetchrow(_PARTY_SQL, principal.party_id)
    if row is None or not (row["zorgkantoor_code"] or row["agb_code"]):
        raise Forbidden(
            "This key is bound to a party without a zorgkantoor or AGB code, so it has no signals."
        )
    return SignalScope(False, row["id"], row["zorgkantoor_code"], row["agb_code"])


def _plain(value: Any) -> Any:
    return value.value if hasattr(value, "value") else value


def _render(prepared: Prepared) -> tuple[bytes, bytes]:
    """The 201 body as (prefix, suffix) around the provider party id, which PostgreSQL fills in."""
    row = prepared.row
    marker = uuid.uuid4()  # random, so no submitted text can contain it
    out = {name: row.get(name) for name in _OUT_FIELDS}
    out["themes"] = sorted(prepared.themes)
    out["commitment_ids"] = prepared.commitment_ids
    out["provider_party_id"] = marker
    body = orjson.dumps(out, option=orjson.OPT_UTC_Z)
    prefix, suffix = body.split(b'"' + str(marker).encode() + b'"', 1)
    return prefix, suffix


async def create(
    conn: asyncpg.Connection,
    data: SignalIn,
    *,
    principal: Principal,
    actor: Actor,
    settings: Settings,
    pseudo: Pseudonymiser,
    idempotency_key: str,
    method: str,
    path: str,
    fingerprint: str,
) -> Created | Replay:
    """Register one signal with its Idempotency-Key; returns the new signal's response or the replay."""
    scope = await raw_scope(conn, principal)
    apply_scope(data, scope, ["body"])
    owner = principal.identity
    ttl = dt.timedelta(hours=settings.idempotency_ttl_hours)
    for _attempt in range(_ATTEMPTS):
        prepared = prepare(data, pseudo=pseudo, settings=settings, provider_parties={})
        row = prepared.row
        sid = row["id"]
        location = f"/v1/signals/{sid}"
        prefix, suffix = _render(prepared)
        now = row["created_at"]
        args = [
            sid,
            new_id(),
            owner,
            idempotency_key,
            method.upper(),
            path[:500],
            fingerprint,
            prefix,
            suffix,
            location,
            now,
            now + ttl,
            prepared.themes,
            prepared.commitment_ids,
            new_id(),
            actor.name[:200],
            actor.key_id,
            actor.party_id,
            orjson.dumps([str(sid)]).decode(),
            actor.request_id,
            *(_plain(row[name]) for name in _SIGNAL_VALUE_COLUMNS),
            actor.client_id,
            actor.subject,
        ]
        try:
            async with statement_scope(conn):
                result = await conn.fetchrow(INTAKE_SQL, *args)
        except asyncpg.UniqueViolationError as exc:
            if exc.constraint_name != _NATURAL_KEY_CONSTRAINT:
                raise
            raise await _duplicate(conn, data, scope) from None
        except asyncpg.ForeignKeyViolationError:
            errors = reference_errors(
                prepared,
                {r["key"] for r in await conn.fetch(_KNOWN_THEMES_SQL, prepared.themes)},
                {r["id"] for r in await conn.fetch(_KNOWN_COMMITMENTS_SQL, prepared.commitment_ids)},
                ["body"],
            )
            if not errors:
                raise
            raise ValidationFailed(
                "The signal refers to themes or commitments that do not exist.", errors
            ) from None
        if result["inserted"]:
            party = result["party_id"]
            body = prefix + (b'"' + str(party).encode() + b'"' if party else b"null") + suffix
            return Created(body, location, list(prepared.commitment_ids))
        existing = await conn.fetchrow(_EXISTING_KEY_SQL, owner, idempotency_key)
        if existing is None:
            continue  # released or purged in between: claim again
        if store.is_stale(existing["state"], existing["created_at"], existing["expires_at"], utcnow()):
            await conn.execute(_DROP_KEY_SQL, existing["id"])
            continue
        return Replay(
            store.decide(
                fingerprint=existing["fingerprint"],
                state=existing["state"],
                status=existing["response_status"],
                body=existing["response_body"],
                location=existing["response_location"],
                fp=fingerprint,
            )
        )
    raise store.KeyInUse("This Idempotency-Key is being claimed by concurrent requests; retry shortly.")


async def _duplicate(conn: asyncpg.Connection, data: SignalIn, scope: SignalScope) -> DuplicateKey:
    existing = await conn.fetchrow(_NATURAL_KEY_SQL, data.source_system, data.external_id)
    extra: dict[str, Any] = {}
    if existing is not None and scope.allows(
        zorgkantoor_code=existing["zorgkantoor_code"],
        provider_agb=existing["provider_agb"],
        provider_party_id=existing["provider_party_id"],
    ):
        extra["existing_id"] = str(existing["id"])
    return DuplicateKey(
        "A signal with this source_system and external_id already exists.",
        errors=[field_error(["body", "external_id"], "already exists", "duplicate")],
        **extra,
    )
