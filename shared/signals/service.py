"""Signal intake and reads: the rules (privacy, scoping, Wkkgz terms, references). Never commits."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, ClassVar

from sqlalchemy import insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from shared.audit.service import Actor, jsonable, record
from shared.commitments.events import commitment_changed
from shared.commitments.models import Commitment
from shared.dates import shift
from shared.db import new_id, rowcount, utcnow
from shared.errors import (
    Conflict,
    DuplicateKey,
    Forbidden,
    NotFound,
    PreconditionFailed,
    ValidationFailed,
    field_error,
)
from shared.parties.models import Party
from shared.pg import driver_connection
from shared.settings import Settings
from shared.signals.access import SignalScope
from shared.signals.models import (
    ClientSignal,
    SignalKind,
    SignalOutcome,
    SignalStatus,
    client_signal_commitments,
    client_signal_themes,
)
from shared.signals.privacy import Pseudonymiser, pseudonymiser
from shared.signals.repository import SignalRepository
from shared.signals.schemas import SignalFilters, SignalIn, SignalOut, SignalUpdate
from shared.themes.models import Theme

JUDGEMENT_TERM = dt.timedelta(weeks=6)
JUDGEMENT_EXTENSION = dt.timedelta(weeks=4)
RESOURCE = "client_signal"


def judgement_due(kind: SignalKind, received: dt.date, extended: bool) -> dt.date | None:
    """Wkkgz: a complaint gets a written judgement within 6 weeks, once extendable by 4 weeks."""
    if kind != SignalKind.klacht:
        return None
    return shift(received, JUDGEMENT_TERM + (JUDGEMENT_EXTENSION if extended else dt.timedelta(0)))


S = SignalStatus
# Where a signal may go from each status (DOMAIN.md "Client signals in practice"): received, handled, judged
# (Wkkgz: a written judgement), closed; forwarded (to the IGJ, a disputes body, another provider) from any
# open status. Closed and forwarded are final: a reopened complaint is a new signal.
TRANSITIONS: dict[SignalStatus, frozenset[SignalStatus]] = {
    S.ontvangen: frozenset({S.in_behandeling, S.afgesloten, S.doorgezet}),
    S.in_behandeling: frozenset({S.oordeel, S.afgesloten, S.doorgezet}),
    S.oordeel: frozenset({S.afgesloten, S.doorgezet}),
    S.afgesloten: frozenset(),
    S.doorgezet: frozenset(),
}
WITH_OUTCOME = frozenset({S.oordeel, S.afgesloten, S.doorgezet})
JUDGEMENTS = frozenset(
    {SignalOutcome.gegrond, SignalOutcome.deels_gegrond, SignalOutcome.ongegrond, SignalOutcome.geen_oordeel}
)
BEFORE_JUDGEMENT = frozenset({S.ontvangen, S.in_behandeling})


def plan_update(current: ClientSignal, changes: SignalUpdate) -> tuple[dict[str, Any], dict[str, list[Any]]]:
    """The column values a PATCH sets, and {field: [old, new]} for the audit; 422 for what may not happen."""
    sent = changes.model_fields_set
    errors: list[dict[str, Any]] = []
    old_status = SignalStatus(current.status)
    status = changes.status if "status" in sent and changes.status is not None else old_status
    outcome = changes.outcome if "outcome" in sent else current.outcome
    extension = changes.extension_recorded if "extension_recorded" in sent else current.extension_recorded
    if status != old_status and status not in TRANSITIONS[old_status]:
        allowed = ", ".join(sorted(TRANSITIONS[old_status])) or "none: it is final"
        errors.append(
            field_error(
                ["body", "status"],
                f"a signal that is {old_status.value} cannot become {status.value} (allowed: {allowed})",
                "transition",
            )
        )
    elif old_status in (S.afgesloten, S.doorgezet) and (
        outcome != current.outcome or extension != current.extension_recorded
    ):
        errors.append(
            field_error(
                ["body"], f"a signal that is {old_status.value} is final; it no longer changes", "transition"
            )
        )
    if "outcome" in sent and outcome is not None and status not in WITH_OUTCOME:
        errors.append(
            field_error(
                ["body", "outcome"],
                "an outcome comes with status oordeel, afgesloten or doorgezet",
                "transition",
            )
        )
    if status != old_status or "outcome" in sent:
        if status == S.oordeel and outcome not in JUDGEMENTS:
            errors.append(
                field_error(
                    ["body", "outcome"],
                    "a judgement (oordeel) needs outcome gegrond, deels_gegrond, ongegrond or geen_oordeel",
                    "transition",
                )
            )
        elif status == S.afgesloten and outcome is None:
            errors.append(
                field_error(["body", "outcome"], "closing a signal needs its outcome", "transition")
            )
    if extension != current.extension_recorded:
        if not extension:
            errors.append(
                field_error(
                    ["body", "extension_recorded"], "a recorded extension cannot be withdrawn", "transition"
                )
            )
        elif current.kind != SignalKind.klacht:
            errors.append(
                field_error(
                    ["body", "extension_recorded"],
                    "only a complaint (klacht) has a Wkkgz judgement term to extend",
                    "transition",
                )
            )
        elif old_status not in BEFORE_JUDGEMENT:
            errors.append(
                field_error(
                    ["body", "extension_recorded"],
                    "the judgement term can only be extended before the judgement",
                    "transition",
                )
            )
    if errors:
        raise ValidationFailed("This change does not fit the signal's course (see errors).", errors)
    values: dict[str, Any] = {}
    audit: dict[str, list[Any]] = {}
    for name, old, new in (
        ("status", old_status, status),
        ("outcome", current.outcome, outcome),
        ("extension_recorded", current.extension_recorded, extension),
    ):
        if new != old:
            values[name] = new
            audit[name] = [old, new]
    if "extension_recorded" in values:  # once: received + 6 weeks + 4
        values["judgement_due_date"] = judgement_due(SignalKind(current.kind), current.received_date, True)
        audit["judgement_due_date"] = [current.judgement_due_date, values["judgement_due_date"]]
    return values, {k: [jsonable(v) for v in pair] for k, pair in audit.items()}


@dataclass
class Prepared:
    row: dict[str, Any]
    themes: list[str]
    commitment_ids: list[uuid.UUID]

    # The columns `prepare` fills (the others keep their database defaults).
    ROW_COLUMNS: ClassVar[frozenset[str]] = frozenset(
        {
            "id",
            "source_system",
            "external_id",
            "kind",
            "channel",
            "severity",
            "received_date",
            "occurred_date",
            "provider_agb",
            "provider_party_id",
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
            "batch_id",
            "created_at",
            "updated_at",
        }
    )


def apply_scope(data: SignalIn, scope: SignalScope, loc: list[str | int]) -> None:
    """A party-bound key writes only its own signals; its own code is filled in when left out."""
    if scope.unrestricted:
        return
    if (
        scope.zorgkantoor_code
        and data.zorgkantoor_code is None
        and not (scope.agb_code and data.provider_agb)
    ):
        data.zorgkantoor_code = scope.zorgkantoor_code
    if (
        scope.agb_code
        and data.provider_agb is None
        and not (scope.zorgkantoor_code and data.zorgkantoor_code == scope.zorgkantoor_code)
    ):
        data.provider_agb = scope.agb_code
    if not scope.allows(zorgkantoor_code=data.zorgkantoor_code, provider_agb=data.provider_agb):
        raise Forbidden(
            "This key may only write signals of its own party (its zorgkantoor or AGB code).",
            errors=[field_error(loc, "not your party", "scope")],
        )


def prepare(
    data: SignalIn,
    *,
    pseudo: Pseudonymiser,
    settings: Settings,
    provider_parties: dict[str, uuid.UUID],
    batch_id: uuid.UUID | None = None,
    signal_id: uuid.UUID | None = None,
) -> Prepared:
    now = utcnow()
    row = {
        "id": signal_id or new_id(),
        "source_system": data.source_system,
        "external_id": data.external_id,
        "kind": data.kind,
        "channel": data.channel,
        "severity": data.severity,
        "received_date": data.received_date,
        "occurred_date": data.occurred_date,
        "provider_agb": data.provider_agb,
        "provider_party_id": provider_parties.get(data.provider_agb) if data.provider_agb else None,
        "location": data.location,
        "zorgkantoor_code": data.zorgkantoor_code,
        "reporter_role": data.reporter_role,
        "anonymous": data.anonymous,
        "status": data.status,
        "outcome": data.outcome,
        "client_pseudonym": pseudo(data.client_reference) if data.client_reference else None,
        "pseudonym_key_version": pseudo.version if data.client_reference else None,
        "summary": data.summary,
        "judgement_due_date": judgement_due(data.kind, data.received_date, data.extension_recorded),
        "extension_recorded": data.extension_recorded,
        "retention_date": data.retention_date
        or shift(data.received_date, dt.timedelta(days=settings.signal_retention_days)),
        "batch_id": batch_id,
        "created_at": now,
        "updated_at": now,
    }
    return Prepared(row, list(data.themes), list(data.commitment_ids))


async def provider_party_map(
    session: AsyncSession, agb_codes: Iterable[str] | None = None
) -> dict[str, uuid.UUID]:
    stmt = select(Party.agb_code, Party.id).where(Party.agb_code.is_not(None))
    if agb_codes is not None:
        codes = list({c for c in agb_codes if c})
        if not codes:
            return {}
        stmt = stmt.where(Party.agb_code.in_(codes))
    return {code: pid for code, pid in (await session.execute(stmt)).tuples() if code}


async def known_themes(session: AsyncSession, keys: Iterable[str] | None) -> set[str]:
    """Which of `keys` are themes (None: the whole controlled list)."""
    if keys is None:
        return set((await session.execute(select(Theme.key))).scalars())
    wanted = list(set(keys))
    if not wanted:
        return set()
    return set((await session.execute(select(Theme.key).where(Theme.key.in_(wanted)))).scalars())


async def known_commitments(session: AsyncSession, ids: Iterable[uuid.UUID]) -> set[uuid.UUID]:
    wanted = list(set(ids))
    if not wanted:
        return set()
    return set((await session.execute(select(Commitment.id).where(Commitment.id.in_(wanted)))).scalars())


def reference_errors(
    prepared: Prepared, themes: set[str], commitments: set[uuid.UUID], loc: list[str | int]
) -> list[dict[str, Any]]:
    errors = [
        field_error([*loc, "themes", i], "unknown theme; GET /v1/themes lists them", "enum")
        for i, key in enumerate(prepared.themes)
        if key not in themes
    ]
    errors += [
        field_error([*loc, "commitment_ids", i], f"no commitment with id {cid}", "reference")
        for i, cid in enumerate(prepared.commitment_ids)
        if cid not in commitments
    ]
    return errors


async def insert_links(session: AsyncSession, items: list[Prepared], *, copy: bool = False) -> set[uuid.UUID]:
    """Theme and commitment links of freshly inserted signals; returns the commitments to recalculate.

    `copy` (PostgreSQL only) loads the theme links with COPY, for batches.
    """
    theme_rows = [
        {"signal_id": p.row["id"], "theme_key": t, "received_date": p.row["received_date"]}
        for p in items
        for t in p.themes
    ]
    commitment_rows = [
        {"signal_id": p.row["id"], "commitment_id": c} for p in items for c in p.commitment_ids
    ]
    if theme_rows and copy:
        raw = await driver_connection(session)
        await raw.copy_records_to_table(
            "client_signal_themes",
            columns=["signal_id", "theme_key", "received_date"],
            records=[(r["signal_id"], r["theme_key"], r["received_date"]) for r in theme_rows],
        )
    elif theme_rows:
        await session.execute(insert(client_signal_themes), theme_rows)
    if commitment_rows:
        await session.execute(insert(client_signal_commitments), commitment_rows)
    return {c for p in items for c in p.commitment_ids}


class SignalService:
    def __init__(self, session: AsyncSession, settings: Settings, scope: SignalScope, actor: Actor) -> None:
        self.session = session
        self.settings = settings
        self.scope = scope
        self.actor = actor
        self.repo = SignalRepository(session)

    async def create(self, data: SignalIn) -> SignalOut:
        apply_scope(data, self.scope, ["body"])
        parties = await provider_party_map(self.session, [data.provider_agb] if data.provider_agb else [])
        prepared = prepare(
            data, pseudo=pseudonymiser(self.settings), settings=self.settings, provider_parties=parties
        )
        errors = reference_errors(
            prepared,
            await known_themes(self.session, prepared.themes),
            await known_commitments(self.session, prepared.commitment_ids),
            ["body"],
        )
        if errors:
            raise ValidationFailed("The signal refers to themes or commitments that do not exist.", errors)
        # One statement; the natural key decides (a concurrent insert of the same key waits, then skips).
        table = ClientSignal.__table__
        inserter = postgresql.insert if self.session.bind.dialect.name == "postgresql" else sqlite.insert
        stmt = (
            inserter(table)
            .values(**prepared.row)
            .on_conflict_do_nothing(index_elements=["source_system", "external_id"])
            .returning(table.c.id)
        )
        if (await self.session.execute(stmt)).scalar() is None:
            raise self._duplicate(await self.repo.by_natural_key(data.source_system, data.external_id))
        for commitment_id in await insert_links(self.session, [prepared]):
            commitment_changed(self.session, commitment_id)
        await record(self.session, self.actor, "signals.create", RESOURCE, [prepared.row["id"]])
        return SignalOut.model_validate(
            {**prepared.row, "themes": sorted(prepared.themes), "commitment_ids": prepared.commitment_ids}
        )

    def _duplicate(self, existing: ClientSignal | None) -> DuplicateKey:
        extra: dict[str, Any] = {}
        if existing is not None and self.scope.allows(
            zorgkantoor_code=existing.zorgkantoor_code,
            provider_agb=existing.provider_agb,
            provider_party_id=existing.provider_party_id,
        ):
            extra["existing_id"] = str(existing.id)
        return DuplicateKey(
            "A signal with this source_system and external_id already exists.",
            errors=[field_error(["body", "external_id"], "already exists", "duplicate")],
            **extra,
        )

    async def load(self, signal_id: uuid.UUID) -> ClientSignal:
        """The signal, when in this key's scope; 404 otherwise (absent and out of scope look the same)."""
        stmt = select(ClientSignal).where(ClientSignal.id == signal_id)
        cond = self.scope.condition()
        if cond is not None:
            stmt = stmt.where(cond)
        obj = (await self.session.execute(stmt)).scalars().first()
        if obj is None:
            raise NotFound(f"No signal with id {signal_id}.")
        return obj

    async def get(self, signal_id: uuid.UUID) -> tuple[SignalOut, int]:
        """One signal and its version (the ETag); audited."""
        obj = await self.load(signal_id)
        await record(self.session, self.actor, "signals.read", RESOURCE, [obj.id])
        return SignalOut.from_model(obj), obj.version

    async def update(
        self, obj: ClientSignal, changes: SignalUpdate, *, conditional: bool
    ) -> tuple[SignalOut, int]:
        """Apply a PATCH to `obj` (as loaded, its version checked by the caller); audited.

        The UPDATE is guarded by the version read, so a concurrent change is never overwritten: 412 when
        the caller sent If-Match (`conditional`), 409 otherwise.
        """
        values, audit = plan_update(obj, changes)
        version = obj.version
        if values:
            table = ClientSignal.__table__
            result = await self.session.execute(
                update(table)
                .where(table.c.id == obj.id, table.c.version == obj.version)
                .values(**values, version=obj.version + 1, updated_at=utcnow())
            )
            if rowcount(result) != 1:
                message = "The signal changed while this request ran; GET it again and retry."
                raise PreconditionFailed(message) if conditional else Conflict(message)
            await self.session.refresh(obj)
            version = obj.version
        await record(
            self.session, self.actor, "signals.update", RESOURCE, [obj.id], detail={"changes": audit}
        )
        return SignalOut.from_model(obj), version

    async def list(self, filters: SignalFilters) -> tuple[list[SignalOut], str | None]:
        conds = self.repo.conditions(filters)
        cond = self.scope.condition()
        if cond is not None:
            conds.append(cond)
        rows, cursor = await self.repo.list(
            conds, sort=filters.sort, cursor=filters.cursor, limit=filters.limit
        )
        await record(
            self.session,
            self.actor,
            "signals.list",
            RESOURCE,
            [r.id for r in rows],
            detail={"filters": filters.model_dump(mode="json", exclude_none=True, exclude={"cursor"})},
        )
        return [SignalOut.from_model(r) for r in rows], cursor
