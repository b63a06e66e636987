"""Batch intake: the upload is stored durably (the raw body in its `signal_batches` row) before the 202,
then processed by the worker in chunks. Each chunk commits its signals, its line errors and the batch's
cursor together, so a restarted or repeated job resumes where the last commit left off and never
double-inserts; (source_system, external_id) is the backstop. One bad line never loses the good ones.
"""

from __future__ import annotations

import asyncio
import csv
import datetime as dt
import io
import operator
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import orjson
import structlog
from pydantic import ValidationError
from sqlalchemy import insert, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from shared.audit.service import Actor, record
from shared.commitments.events import commitment_changed
from shared.db import session_scope, utcnow
from shared.errors import BadRequest, NakomingError, NotFound, field_error
from shared.jobs import JobQueue, PendingJob, enqueue_jobs, keyed, take_pending_jobs
from shared.pg import driver_connection
from shared.settings import Settings
from shared.signals.access import SignalScope
from shared.signals.models import BatchStatus, ClientSignal, SignalBatch, SignalBatchError
from shared.signals.privacy import may_hold_bsn, pseudonymiser
from shared.signals.schemas import SignalIn
from shared.signals.service import (
    Prepared, apply_scope, insert_links, known_commitments, known_themes, prepare, provider_party_map,
    reference_errors,
)

log = structlog.get_logger("nakoming.signals.batches")

MAX_RECORDS = 100_000
MAX_BYTES = 64 * 1024 * 1024
CHUNK = 5_000
MAX_ERRORS_SHOWN = 1_000
PROCESS_JOB = "signals.process_batch"
STALL_AFTER = dt.timedelta(minutes=5)
FORMATS = {"application/x-ndjson": "ndjson", "application/ndjson": "ndjson", "application/jsonl": "ndjson",
           "application/json-seq": "ndjson", "text/csv": "csv", "application/csv": "csv"}
LIST_COLUMNS = {"themes", "commitment_ids"}
BOOL_COLUMNS = {"anonymous", "extension_recorded"}
TRUE, FALSE = {"true", "1", "ja", "yes", "j", "y"}, {"false", "0", "nee", "no", "n", ""}


def processing(batch_id: uuid.UUID) -> PendingJob:
    """The job that processes (or resumes) one batch, keyed by it."""
    return keyed(PROCESS_JOB, batch_id, batch_id=str(batch_id))


def format_of(content_type: str | None) -> str:
    media = (content_type or "").split(";")[0].strip().lower()
    if media not in FORMATS:
        raise UnsupportedMediaType(
            f"Send NDJSON (application/x-ndjson) or CSV (text/csv), not {media or 'no content type'!r}.")
    return FORMATS[media]


class UnsupportedMediaType(NakomingError):
    status, type_slug, title = 415, "unsupported-media-type", "Unsupported media type"


class PayloadTooLarge(NakomingError):
    status, type_slug, title = 413, "too-large", "Batch too large"


def _lines(body: bytes) -> list[bytes]:
    return body.split(b"\n")


def count_records(body: bytes, fmt: str) -> int:
    count = sum(1 for line in _lines(body) if line.strip())
    return max(0, count - 1) if fmt == "csv" else count


async def create_batch(session: AsyncSession, *, body: bytes, fmt: str, actor: Actor) -> SignalBatch:
    if len(body) > MAX_BYTES:
        raise PayloadTooLarge(f"A batch holds at most {MAX_BYTES // (1024 * 1024)} MB.")
    records = count_records(body, fmt)
    if records == 0:
        raise BadRequest("The batch is empty.")
    if records > MAX_RECORDS:
        raise PayloadTooLarge(f"A batch holds at most {MAX_RECORDS:,} records; this one has {records:,}. Split it.")
    batch = SignalBatch(id=uuid.uuid4(), format=fmt, status=BatchStatus.pending, body=body, total_lines=records,
                        processed_lines=0, accepted=0, duplicate=0, rejected=0, key_id=actor.key_id,
                        party_id=actor.party_id, request_id=actor.request_id)
    session.add(batch)
    await session.flush()
    await record(session, actor, "signals.batch_create", "signal_batch", [batch.id], detail={"records": records})
    return batch


def parse_line(line: bytes) -> Any:
    """One NDJSON line: (raw record, screened clean of BSNs), or an Exception."""
    try:
        data = orjson.loads(line)
    except orjson.JSONDecodeError:
        return ValueError("not valid JSON")
    # Lines without anything BSN-like skip the field-by-field check (it is the costly part).
    return data, not may_hold_bsn(line.decode("utf-8", errors="replace"))


def split_records(body: bytes, fmt: str) -> list[tuple[int, Any]]:
    """(line number, item) for every record, in order; line numbers are 1-based. NDJSON items are the raw
    line bytes, parsed chunk by chunk as they are validated (100,000 parsed records held at once would
    only feed the garbage collector); CSV items are parsed here (see parse_records)."""
    if fmt == "ndjson":
        return [(number, line) for number, line in enumerate(_lines(body), start=1) if line.strip()]
    return list(parse_records(body, fmt))


def parse_records(body: bytes, fmt: str) -> Iterator[tuple[int, Any]]:
    """(line number, (raw record, screened clean of BSNs) or an Exception) for every record, in order.
    Line numbers are 1-based."""
    if fmt == "ndjson":
        for number, line in enumerate(_lines(body), start=1):
            if line.strip():
                yield number, parse_line(line)
        return
    text = body.decode("utf-8-sig", errors="replace")
    reader = csv.reader(io.StringIO(text, newline=""))
    header: list[str] | None = None
    for row in reader:
        number = reader.line_num
        if not any(cell.strip() for cell in row):
            continue
        if header is None:
            header = [h.strip() for h in row]
            continue
        if len(row) != len(header):
            yield number, ValueError(f"expected {len(header)} columns, got {len(row)}")
            continue
        yield number, (_csv_record(header, row), False)


def _csv_record(header: list[str], row: list[str]) -> dict[str, Any]:
    record_: dict[str, Any] = {}
    for name, cell in zip(header, row):
        cell = cell.strip()
        if name in LIST_COLUMNS:
            record_[name] = [part.strip() for part in cell.replace("|", ";").split(";") if part.strip()]
        elif name in BOOL_COLUMNS:
            low = cell.lower()
            record_[name] = True if low in TRUE else False if low in FALSE else cell
        elif cell:
            record_[name] = cell
    return record_


def _line_errors(exc: Exception, number: int) -> list[dict[str, Any]]:
    if isinstance(exc, ValidationError):
        return [{"loc": ["line", number, *map(str, e["loc"])], "msg": e["msg"], "type": e["type"]}
                for e in exc.errors(include_input=False, include_url=False)]
    if isinstance(exc, NakomingError) and exc.extra.get("errors"):
        return [{**e, "loc": ["line", number, *e["loc"][1:]]} for e in exc.extra["errors"]]
    return [{"loc": ["line", number], "msg": str(exc) if not isinstance(exc, NakomingError) else exc.detail,
             "type": "value_error"}]


def _validate(item: Any, number: int, scope: SignalScope) -> SignalIn:
    if isinstance(item, bytes):
        item = parse_line(item)
    if isinstance(item, Exception):
        raise item
    raw, screened = item
    if not isinstance(raw, dict):
        raise ValueError("a record must be a JSON object")
    data = SignalIn.model_validate(raw, context={"bsn_screened": screened})
    apply_scope(data, scope, ["line", number])
    return data


def _insert_ignoring_duplicates(dialect: str) -> Any:
    stmt = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(ClientSignal.__table__)
    return stmt.on_conflict_do_nothing(index_elements=["source_system", "external_id"]).returning(
        ClientSignal.__table__.c.id)


SIGNAL_COLUMNS = [c.name for c in ClientSignal.__table__.columns if c.name in Prepared.ROW_COLUMNS]
_copy_values = operator.itemgetter(*SIGNAL_COLUMNS)  # enum values are str: COPY takes them as they are


async def _bulk_insert(session: AsyncSession, candidates: list[Prepared]) -> set[uuid.UUID]:
    """Insert, skipping natural keys that exist; returns the ids actually inserted."""
    if session.bind.dialect.name != "postgresql":  # type: ignore[union-attr]
        # executemany: one cached statement, batched by SQLAlchemy's insertmanyvalues (RETURNING kept).
        result = await session.execute(_insert_ignoring_duplicates("sqlite"), [p.row for p in candidates])
        return set(result.scalars())
    # PostgreSQL: COPY into a session-local staging table, then one INSERT ... ON CONFLICT DO NOTHING.
    raw = await driver_connection(session)
    await raw.execute("CREATE TEMP TABLE IF NOT EXISTS client_signals_stage "
                      "(LIKE client_signals INCLUDING DEFAULTS) ON COMMIT DELETE ROWS")
    await raw.copy_records_to_table("client_signals_stage", columns=SIGNAL_COLUMNS,
                                    records=[_copy_values(p.row) for p in candidates])
    columns = ", ".join(f'"{c}"' for c in SIGNAL_COLUMNS)
    inserted = await raw.fetch(f"INSERT INTO client_signals ({columns}) SELECT {columns} FROM client_signals_stage "
                               "ON CONFLICT (source_system, external_id) DO NOTHING RETURNING id")
    await raw.execute("TRUNCATE client_signals_stage")
    return {r["id"] for r in inserted}


async def _lock(session: AsyncSession, batch_id: uuid.UUID) -> SignalBatch | None:
    stmt = select(SignalBatch).where(SignalBatch.id == batch_id).execution_options(populate_existing=True)
    if session.bind.dialect.name == "postgresql":  # type: ignore[union-attr]
        stmt = stmt.with_for_update()
    return (await session.execute(stmt)).scalars().first()


async def process_batch(factory: async_sessionmaker[AsyncSession], settings: Settings, batch_id: uuid.UUID,
                        *, chunk_size: int = CHUNK, queue: JobQueue | None = None) -> SignalBatch | None:
    """Process (or resume) a batch. Validation of the next chunk runs in a thread while the current chunk
    is written, so parsing and database work overlap. Jobs the chunks trigger go to `queue` after commit."""
    async with session_scope(factory) as session:
        batch = await _lock(session, batch_id)
        if batch is None or batch.status in (BatchStatus.done, BatchStatus.failed) or batch.body is None:
            return batch
        batch.status = BatchStatus.processing
        body, fmt = batch.body, batch.format
        scope = await _scope_of(session, batch)
        actor = Actor(name=f"batch:{batch.id}", key_id=batch.key_id, party_id=batch.party_id,
                      request_id=batch.request_id)
        context = ChunkContext(batch_id, scope, pseudonymiser(settings), settings,
                               await provider_party_map(session), await known_themes(session, None))
        position = batch.processed_lines
    records = split_records(body, fmt)

    def validate_at(start: int) -> asyncio.Task[tuple[int, Validated]]:
        chunk = records[start:start + chunk_size]
        return asyncio.ensure_future(asyncio.to_thread(lambda: (start, _validate_chunk(chunk, context))))

    ahead = validate_at(position) if position < len(records) else None
    while ahead is not None:
        start, validated = await ahead
        ahead = None
        async with session_scope(factory) as session:
            batch = await _lock(session, batch_id)
            if batch is None or batch.status == BatchStatus.done:
                return batch
            if batch.processed_lines != start:
                # Another run moved on: continue from its cursor, never redo a chunk.
                position = batch.processed_lines
                ahead = validate_at(position) if position < len(records) else None
                continue
            following = start + chunk_size
            if following < len(records):
                ahead = validate_at(following)
            await _write_chunk(session, batch, validated, context)
            batch.processed_lines = min(following, len(records))
            pending = take_pending_jobs(session)
        await enqueue_jobs(queue, pending)  # after the chunk's commit
    async with session_scope(factory) as session:
        batch = await _lock(session, batch_id)
        if batch is None or batch.status == BatchStatus.done:
            return batch
        batch.status = BatchStatus.done
        batch.body = None  # processed: the raw upload (with its personal data) is no longer needed
        batch.finished_at = utcnow()
        await record(session, actor, "signals.batch_processed", "signal_batch", [batch.id],
                     count=batch.accepted, detail={"accepted": batch.accepted, "duplicate": batch.duplicate,
                                                   "rejected": batch.rejected})
    log.info("batch_processed", batch_id=str(batch_id), accepted=batch.accepted, duplicate=batch.duplicate,
             rejected=batch.rejected)
    return batch


@dataclass(frozen=True)
class ChunkContext:
    batch_id: uuid.UUID
    scope: SignalScope
    pseudo: Any
    settings: Settings
    provider_parties: dict[str, uuid.UUID]
    themes: set[str]  # the controlled list, read once per run


@dataclass
class Validated:
    prepared: list[tuple[int, Prepared]]
    errors: list[dict[str, Any]]
    duplicates: int


def _validate_chunk(chunk: list[tuple[int, Any]], ctx: ChunkContext) -> Validated:
    """Everything that needs no database: parsing, validation, scope, pseudonyms, themes, in-chunk dedupe."""
    prepared: list[tuple[int, Prepared]] = []
    errors: list[dict[str, Any]] = []
    seen: set[tuple[str, str]] = set()
    duplicates = 0
    for number, raw in chunk:
        try:
            data = _validate(raw, number, ctx.scope)
        except (ValidationError, NakomingError, ValueError) as exc:
            errors.append({"batch_id": ctx.batch_id, "line": number, "errors": _line_errors(exc, number)})
            continue
        item = prepare(data, pseudo=ctx.pseudo, settings=ctx.settings, provider_parties=ctx.provider_parties,
                       batch_id=ctx.batch_id)
        unknown = [field_error(["line", number, "themes", i], f"unknown theme {key!r}; GET /v1/themes lists them",
                               "enum") for i, key in enumerate(item.themes) if key not in ctx.themes]
        if unknown:
            errors.append({"batch_id": ctx.batch_id, "line": number, "errors": unknown})
            continue
        natural = (item.row["source_system"], item.row["external_id"])
        if natural in seen:
            duplicates += 1
            continue
        seen.add(natural)
        prepared.append((number, item))
    return Validated(prepared, errors, duplicates)


async def _scope_of(session: AsyncSession, batch: SignalBatch) -> SignalScope:
    from shared.parties.models import Party

    if batch.party_id is None:
        return SignalScope(unrestricted=True)
    party = await session.get(Party, batch.party_id)
    if party is None:
        return SignalScope(unrestricted=False)
    return SignalScope(False, party.id, party.zorgkantoor_code, party.agb_code)


async def _write_chunk(session: AsyncSession, batch: SignalBatch, validated: Validated, ctx: ChunkContext) -> None:
    errors = list(validated.errors)
    commitments = await known_commitments(session, [c for _, p in validated.prepared for c in p.commitment_ids])
    candidates: list[Prepared] = []
    for number, p in validated.prepared:
        problems = reference_errors(p, ctx.themes, commitments, ["line", number])
        if problems:
            errors.append({"batch_id": batch.id, "line": number, "errors": problems})
        else:
            candidates.append(p)
    inserted_ids = await _bulk_insert(session, candidates) if candidates else set()
    inserted = [p for p in candidates if p.row["id"] in inserted_ids]
    for commitment_id in await insert_links(session, inserted, copy=session.bind.dialect.name == "postgresql"):  # type: ignore[union-attr]
        commitment_changed(session, commitment_id)
    if errors:
        await session.execute(insert(SignalBatchError), sorted(errors, key=lambda e: e["line"]))
    batch.accepted += len(inserted)
    batch.duplicate += validated.duplicates + len(candidates) - len(inserted)
    batch.rejected += len(errors)


async def batch_view(session: AsyncSession, batch_id: uuid.UUID, scope: SignalScope) -> dict[str, Any]:
    batch = await session.get(SignalBatch, batch_id)
    if batch is None or not (scope.unrestricted or batch.party_id == scope.party_id):
        raise NotFound(f"No batch with id {batch_id}.")
    errors = (await session.execute(
        select(SignalBatchError).where(SignalBatchError.batch_id == batch_id)
        .order_by(SignalBatchError.line).limit(MAX_ERRORS_SHOWN + 1))).scalars().all()
    return {
        "id": batch.id, "format": batch.format, "status": batch.status, "total_lines": batch.total_lines,
        "processed_lines": batch.processed_lines, "accepted": batch.accepted, "duplicate": batch.duplicate,
        "rejected": batch.rejected, "errors": [{"line": e.line, "errors": e.errors} for e in errors[:MAX_ERRORS_SHOWN]],
        "errors_truncated": len(errors) > MAX_ERRORS_SHOWN, "failure": batch.failure,
        "created_at": batch.created_at, "finished_at": batch.finished_at,
    }


async def stalled_batches(session: AsyncSession, idle: dt.timedelta = STALL_AFTER) -> list[uuid.UUID]:
    """Unfinished batches without progress for `idle` (the job was lost: Redis outage, worker killed)."""
    stmt = select(SignalBatch.id).where(SignalBatch.status.in_([BatchStatus.pending, BatchStatus.processing]),
                                        SignalBatch.updated_at < utcnow() - idle)
    return list((await session.execute(stmt)).scalars())

