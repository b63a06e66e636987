"""Batch intake: the upload is stored durably (the raw body in its `signal_batches` row) before the 202,
then processed by the worker in chunks. Each chunk commits its signals, its line errors and the batch's
cursor together, so a restarted or repeated job resumes where the last commit left off and never
double-inserts; (source_system, external_id) is the backstop. One bad line never loses the good ones.
"""

from __future__ import annotations

import asyncio
import codecs
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
from sqlalchemy.orm import undefer

from shared.audit.service import Actor, record
from shared.commitments.events import commitment_changed
from shared.db import new_ids, session_scope, utcnow
from shared.errors import BadRequest, NakomingError, NotFound, field_error
from shared.events.service import Audience, EventType, NewEvent, emit
from shared.jobs import JobQueue, PendingJob, enqueue_jobs, keyed, take_pending_jobs
from shared.pg import driver_connection, is_connection_error
from shared.settings import Settings
from shared.signals.access import SignalScope
from shared.signals.models import BatchStatus, ClientSignal, SignalBatch, SignalBatchError
from shared.signals.privacy import may_hold_bsn, pseudonymiser, safe_loc, safe_text
from shared.signals.schemas import SignalIn
from shared.signals.service import (
    Prepared,
    apply_scope,
    insert_links,
    known_commitments,
    known_themes,
    prepare,
    provider_party_map,
    reference_errors,
)

log = structlog.get_logger("nakoming.signals.batches")
CREATE_ACTION, RESOURCE = (
    "signals.batch_create",
    "signal_batch",
)  # audited on upload and on an idempotent replay

MAX_RECORDS = 100_000
# A valid signal is far smaller (summary 5,000 characters, escaped at most 12 bytes each); a longer line or
# CSV record is reported as such without being parsed.
MAX_RECORD_BYTES = 128 * 1024
CHUNK = 5_000
MAX_ERRORS_SHOWN = 1_000
MAX_LINE_ERRORS = 20  # per line: a record has about that many fields
PROCESS_JOB = "signals.process_batch"
STALL_AFTER = dt.timedelta(minutes=5)
FORMATS = {
    "application/x-ndjson": "ndjson",
    "application/ndjson": "ndjson",
    "application/jsonl": "ndjson",
    "application/json-seq": "ndjson",
    "text/csv": "csv",
    "application/csv": "csv",
}
LIST_COLUMNS = {"themes", "commitment_ids"}
BOOL_COLUMNS = {"anonymous", "extension_recorded"}
TRUE, FALSE = {"true", "1", "ja", "yes", "j", "y"}, {"false", "0", "nee", "no", "n", ""}


def csv_format() -> str:
    """The CSV upload format, in words (the OpenAPI request body of POST /v1/signals/batches and the README)."""
    columns = ", ".join(f"`{name}`" for name in SignalIn.model_fields)
    required = ", ".join(f"`{name}`" for name, f in SignalIn.model_fields.items() if f.is_required())
    return (
        "CSV: UTF-8 (a byte-order mark is allowed), comma-separated, quoted as in RFC 4180 (a quoted field may "
        f"span lines). The first line is the header: column names from {columns}, in any order; "
        f"{required} are required. Each further line is one signal, read as the JSON body of POST /v1/signals. "
        "An empty cell leaves the field out (its default applies). "
        f"Several values in one cell ({', '.join(f'`{c}`' for c in sorted(LIST_COLUMNS))}): separate them "
        "with `;` (or `|`), never with a comma, e.g. `bejegening;sociale-veiligheid`. "
        f"Yes/no columns ({', '.join(f'`{c}`' for c in sorted(BOOL_COLUMNS))}): "
        f"{' / '.join(sorted(t for t in TRUE))} for true, {' / '.join(sorted(f for f in FALSE if f))} or empty "
        "for false. "
        "NDJSON: one JSON object per line, as the body of POST /v1/signals. "
        f"At most {MAX_RECORDS:,} records; a line that fails is reported by its line number in the batch's "
        "`errors`, and the other lines are stored."
    )


def processing(batch_id: uuid.UUID) -> PendingJob:
    """The job that processes (or resumes) one batch, keyed by it."""
    return keyed(PROCESS_JOB, batch_id, batch_id=str(batch_id))


def format_of(content_type: str | None) -> str:
    media = (content_type or "").split(";")[0].strip().lower()
    if media not in FORMATS:
        raise UnsupportedMediaType(
            f"Send NDJSON (application/x-ndjson) or CSV (text/csv), not {media or 'no content type'!r}."
        )
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


async def create_batch(
    session: AsyncSession, *, body: bytes, fmt: str, actor: Actor, max_bytes: int | None = None
) -> SignalBatch:
    if max_bytes is not None and len(body) > max_bytes:
        raise PayloadTooLarge(f"A batch holds at most {max_bytes:,} bytes.")
    # Counting the lines of a 64 MB upload takes a while: not on the event loop.
    records = await asyncio.to_thread(count_records, body, fmt)
    if records == 0:
        raise BadRequest("The batch is empty.")
    if records > MAX_RECORDS:
        raise PayloadTooLarge(
            f"A batch holds at most {MAX_RECORDS:,} records; this one has {records:,}. Split it."
        )
    batch = SignalBatch(
        id=uuid.uuid4(),
        format=fmt,
        status=BatchStatus.pending,
        body=body,
        total_lines=records,
        processed_lines=0,
        accepted=0,
        duplicate=0,
        rejected=0,
        key_id=actor.key_id,
        party_id=actor.party_id,
        request_id=actor.request_id,
    )
    session.add(batch)
    await session.flush()
    await record(session, actor, CREATE_ACTION, RESOURCE, [batch.id], detail={"records": records})
    return batch


class BatchFailure(Exception):
    """The upload as a whole cannot be read (e.g. its CSV header): the batch ends `failed` with this reason."""


def parse_line(line: bytes) -> Any:
    """One NDJSON line: (raw record, screened clean of BSNs), or an Exception saying what is wrong (never
    quoting the line)."""
    if len(line) > MAX_RECORD_BYTES:
        return ValueError(f"the line is longer than {MAX_RECORD_BYTES:,} bytes")
    try:
        text = line.decode("utf-8")
    except UnicodeDecodeError as exc:
        return ValueError(f"not valid UTF-8 (byte {exc.start})")
    try:
        data = orjson.loads(line)
    except orjson.JSONDecodeError:
        return ValueError("not valid JSON")
    # Lines without anything BSN-like skip the field-by-field check (it is the costly part).
    return data, not may_hold_bsn(text)


def split_records(body: bytes, fmt: str) -> list[tuple[int, Any]]:
    """(line number, item) for every record, in order; line numbers are 1-based. NDJSON items are the raw
    line bytes, parsed chunk by chunk as they are validated (100,000 parsed records held at once would
    only feed the garbage collector); CSV items are parsed here (see parse_records)."""
    if fmt == "ndjson":
        return [(number, line) for number, line in enumerate(_lines(body), start=1) if line.strip()]
    return list(parse_records(body, fmt))


def parse_records(body: bytes, fmt: str) -> Iterator[tuple[int, Any]]:
    """(line number, (raw record, screened clean of BSNs) or an Exception) for every record, in order.
    Line numbers are 1-based; a CSV record spanning lines (a quoted line break) has its first line's."""
    if fmt == "ndjson":
        for number, line in enumerate(_lines(body), start=1):
            if line.strip():
                yield number, parse_line(line)
        return
    header: list[str] | None = None
    for number, row in _csv_rows(body):
        if header is None:
            if isinstance(row, Exception):
                raise BatchFailure(f"the CSV header (line {number}) cannot be read: {row}")
            header = [h.strip() for h in row]
            continue
        if isinstance(row, Exception):
            yield number, row
        elif len(row) != len(header):
            yield number, ValueError(f"expected {len(header)} columns, got {len(row)}")
        else:
            yield number, (_csv_record(header, row), False)


def _csv_rows(body: bytes) -> Iterator[tuple[int, list[str] | Exception]]:
    """CSV records with their first line number, every malformed one reported and skipped on its own.

    A record ends on the first line at which its quotes balance. Python's csv reader, given the rest of the
    file, would let one stray quote swallow every line after it (or stop at its field size limit); here a
    record is parsed on its own, bounded by MAX_RECORD_BYTES, and when it cannot be parsed the error is
    reported at its first line and reading goes on with the next line."""
    raw = _lines(body.removeprefix(codecs.BOM_UTF8))
    texts: list[str | None] = []
    for line in raw:
        try:
            texts.append(line.decode("utf-8"))
        except UnicodeDecodeError:
            texts.append(None)
    n = len(texts)
    parity = [(t.count('"') & 1) if t is not None else 0 for t in texts]
    sizes = [len(line) + 1 for line in raw]
    # ends[i]: the last line of a record starting at line i with balanced quotes (None: they never balance).
    ends: list[int | None] = [None] * n
    prefix = [0] * (n + 1)
    for i, p in enumerate(parity):
        prefix[i + 1] = prefix[i] ^ p
    following: dict[int, int] = {}
    for i in range(n - 1, -1, -1):
        following[prefix[i + 1]] = i + 1
        after = following.get(prefix[i])
        ends[i] = after - 1 if after is not None else None
    i = 0
    while i < n:
        number, text = i + 1, texts[i]
        if text is None:
            yield number, ValueError("not valid UTF-8")
            i += 1
            continue
        if not text.strip():
            i += 1
            continue
        if len(raw[i]) > MAX_RECORD_BYTES:
            yield number, ValueError(f"the line is longer than {MAX_RECORD_BYTES:,} bytes")
            i += 1
            continue
        row = _csv_record_at(texts, i, i)  # a literal quote inside a field leaves a line odd yet whole
        end = i
        if isinstance(row, Exception) and parity[i]:
            closing = ends[i]
            end = closing if closing is not None else i
            if end > i and sum(sizes[i : end + 1]) <= MAX_RECORD_BYTES:
                row = _csv_record_at(texts, i, end)
            if isinstance(row, Exception):
                end = i
        yield number, row
        i = end + 1


def _csv_record_at(texts: list[str | None], first: int, last: int) -> list[str] | Exception:
    lines = texts[first : last + 1]
    if any(t is None for t in lines):
        return ValueError("not valid UTF-8")
    try:
        rows = [r for r in csv.reader(io.StringIO("\n".join(lines), newline=""), strict=True) if r]  # type: ignore[arg-type]
    except csv.Error:
        return ValueError("malformed CSV (unbalanced or misplaced quotes)")
    if len(rows) != 1:
        return ValueError("malformed CSV (unbalanced or misplaced quotes)")
    return rows[0]


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
    """What is wrong with a line: locations (BSN-like field names redacted), messages and types, never a value."""
    if isinstance(exc, ValidationError):
        errors = [
            {"loc": ["line", number, *map(str, e["loc"])], "msg": e["msg"], "type": e["type"]}
            for e in exc.errors(include_input=False, include_url=False, include_context=False)
        ]
    elif isinstance(exc, NakomingError) and exc.extra.get("errors"):
        errors = [{**e, "loc": ["line", number, *e["loc"][1:]]} for e in exc.extra["errors"]]
    elif isinstance(exc, (ValueError, NakomingError)):
        errors = [
            {
                "loc": ["line", number],
                "msg": exc.detail if isinstance(exc, NakomingError) else str(exc),
                "type": "value_error",
            }
        ]
    else:  # an error nobody foresaw: its message may quote the line
        errors = [
            {
                "loc": ["line", number],
                "msg": f"could not be processed ({type(exc).__name__})",
                "type": "internal",
            }
        ]
    return [
        {**e, "loc": safe_loc(e["loc"]), "msg": safe_text(str(e["msg"]))} for e in errors[:MAX_LINE_ERRORS]
    ]


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
        ClientSignal.__table__.c.id
    )


SIGNAL_COLUMNS = [c.name for c in ClientSignal.__table__.columns if c.name in Prepared.ROW_COLUMNS]
_copy_values = operator.itemgetter(*SIGNAL_COLUMNS)  # enum values are str: COPY takes them as they are


async def _bulk_insert(session: AsyncSession, candidates: list[Prepared]) -> set[uuid.UUID]:
    """Insert, skipping natural keys that exist; returns the ids actually inserted."""
    if session.bind.dialect.name != "postgresql":
        # executemany: one cached statement, batched by SQLAlchemy's insertmanyvalues (RETURNING kept).
        result = await session.execute(_insert_ignoring_duplicates("sqlite"), [p.row for p in candidates])
        return set(result.scalars())
    # PostgreSQL: COPY into a session-local staging table, then one INSERT ... ON CONFLICT DO NOTHING.
    raw = await driver_connection(session)
    await raw.execute(
        "CREATE TEMP TABLE IF NOT EXISTS client_signals_stage "
        "(LIKE client_signals INCLUDING DEFAULTS) ON COMMIT DELETE ROWS"
    )
    await raw.copy_records_to_table(
        "client_signals_stage", columns=SIGNAL_COLUMNS, records=[_copy_values(p.row) for p in candidates]
    )
    columns = ", ".join(f'"{c}"' for c in SIGNAL_COLUMNS)
    inserted = await raw.fetch(
        f"INSERT INTO client_signals ({columns}) SELECT {columns} FROM client_signals_stage "
        "ON CONFLICT (source_system, external_id) DO NOTHING RETURNING id"
    )
    await raw.execute("TRUNCATE client_signals_stage")
    return {r["id"] for r in inserted}


async def _lock(session: AsyncSession, batch_id: uuid.UUID, *, body: bool = False) -> SignalBatch | None:
    """The batch's row, locked; with its raw upload only when `body` (it is read once per run, not per chunk)."""
    stmt = select(SignalBatch).where(SignalBatch.id == batch_id).execution_options(populate_existing=True)
    if body:
        stmt = stmt.options(undefer(SignalBatch.body))
    if session.bind.dialect.name == "postgresql":
        stmt = stmt.with_for_update()
    return (await session.execute(stmt)).scalars().first()


def finished(batch: SignalBatch) -> NewEvent:
    """`signals.batch.finished`: the batch's outcome in counts; never a line of its content. Seen by the keys that
    may read the batch itself (shared/events/access.py)."""
    return NewEvent(
        EventType.signals_batch_finished,
        f"/v1/signals/batches/{batch.id}",
        {
            "batch_id": str(batch.id),
            "status": str(batch.status),
            "accepted": batch.accepted,
            "duplicate": batch.duplicate,
            "rejected": batch.rejected,
        },
        Audience.signals,
        batch.party_id,
    )


async def process_batch(
    factory: async_sessionmaker[AsyncSession],
    settings: Settings,
    batch_id: uuid.UUID,
    *,
    chunk_size: int = CHUNK,
    queue: JobQueue | None = None,
) -> SignalBatch | None:
    """Process (or resume) a batch; it always ends `done` or `failed` with a reason. A bad line is reported
    and skipped; only a lost database connection leaves the batch to be resumed (by a retry or the sweep)."""
    try:
        return await _process(factory, settings, batch_id, chunk_size=chunk_size, queue=queue)
    except Exception as exc:
        if is_connection_error(exc):
            raise
        # The type only: an error's message may quote the data (a summary, a pseudonym).
        log.error("batch_failed", batch_id=str(batch_id), error=type(exc).__name__)
        reason = (
            str(exc)
            if isinstance(exc, BatchFailure)
            else (
                f"processing stopped by an unexpected error ({type(exc).__name__}); the lines stored so far are kept"
            )
        )
        return await _fail(factory, batch_id, reason)


async def _fail(
    factory: async_sessionmaker[AsyncSession], batch_id: uuid.UUID, reason: str
) -> SignalBatch | None:
    async with session_scope(factory) as session:
        batch = await _lock(session, batch_id)
        if batch is None or batch.status in (BatchStatus.done, BatchStatus.failed):
            return batch
        batch.status = BatchStatus.failed
        batch.failure = reason[:500]
        batch.body = None  # the raw upload (with its personal data) is not kept for a batch that cannot go on
        batch.finished_at = utcnow()
        await emit(session, finished(batch))
        await record(
            session,
            Actor(
                name=f"batch:{batch.id}",
                key_id=batch.key_id,
                party_id=batch.party_id,
                request_id=batch.request_id,
            ),
            "signals.batch_failed",
            RESOURCE,
            [batch.id],
            count=batch.accepted,
            detail={"accepted": batch.accepted, "reason": batch.failure},
        )
    return batch


async def _process(
    factory: async_sessionmaker[AsyncSession],
    settings: Settings,
    batch_id: uuid.UUID,
    *,
    chunk_size: int,
    queue: JobQueue | None,
) -> SignalBatch | None:
    """Validation of the next chunk runs in a thread while the current chunk is written, so parsing and
    database work overlap. Jobs the chunks trigger go to `queue` after commit."""
    async with session_scope(factory) as session:
        batch = await _lock(session, batch_id, body=True)
        if batch is None or batch.status in (BatchStatus.done, BatchStatus.failed) or batch.body is None:
            return batch
        batch.status = BatchStatus.processing
        body, fmt = batch.body, batch.format
        scope = await _scope_of(session, batch)
        actor = Actor(
            name=f"batch:{batch.id}",
            key_id=batch.key_id,
            party_id=batch.party_id,
            request_id=batch.request_id,
        )
        context = ChunkContext(
            batch_id,
            scope,
            pseudonymiser(settings),
            settings,
            await provider_party_map(session),
            await known_themes(session, None),
        )
        position = batch.processed_lines
    records = await asyncio.to_thread(split_records, body, fmt)

    def validate_at(start: int) -> asyncio.Task[tuple[int, Validated]]:
        chunk = records[start : start + chunk_size]
        return asyncio.ensure_future(asyncio.to_thread(lambda: (start, _validate_chunk(chunk, context))))

    ahead = validate_at(position) if position < len(records) else None
    try:
        while ahead is not None:
            start, validated = await ahead
            ahead = None
            async with session_scope(factory) as session:
                batch = await _lock(session, batch_id)
                if batch is None or batch.status in (BatchStatus.done, BatchStatus.failed):
                    return batch
                if batch.processed_lines != start:
                    # Another run moved on: continue from its cursor, never redo a chunk.
                    position = batch.processed_lines
                    ahead = validate_at(position) if position < len(records) else None
                    continue
                following = start + chunk_size
                if following < len(records):
                    ahead = validate_at(following)
                await _store_chunk(session, batch, validated, context)
                batch.processed_lines = min(following, len(records))
                pending = take_pending_jobs(session)
            await enqueue_jobs(queue, pending)  # after the chunk's commit
    finally:
        if ahead is not None:  # stopped early: let the thread finish rather than leave its task unawaited
            await asyncio.gather(ahead, return_exceptions=True)
    async with session_scope(factory) as session:
        batch = await _lock(session, batch_id)
        if batch is None or batch.status in (BatchStatus.done, BatchStatus.failed):
            return batch
        batch.status = BatchStatus.done
        batch.body = None  # processed: the raw upload (with its personal data) is no longer needed
        batch.finished_at = utcnow()
        await emit(session, finished(batch))
        await record(
            session,
            actor,
            "signals.batch_processed",
            RESOURCE,
            [batch.id],
            count=batch.accepted,
            detail={"accepted": batch.accepted, "duplicate": batch.duplicate, "rejected": batch.rejected},
        )
    log.info(
        "batch_processed",
        batch_id=str(batch_id),
        accepted=batch.accepted,
        duplicate=batch.duplicate,
        rejected=batch.rejected,
    )
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
    ids = new_ids(len(chunk))  # one system call per chunk, not one per line
    for (number, raw), signal_id in zip(chunk, ids):
        try:  # whatever a line holds, it costs that line only
            data = _validate(raw, number, ctx.scope)
            item = prepare(
                data,
                pseudo=ctx.pseudo,
                settings=ctx.settings,
                provider_parties=ctx.provider_parties,
                batch_id=ctx.batch_id,
                signal_id=signal_id,
            )
        except Exception as exc:  # noqa: BLE001  (a bad line is an error row; it never stops the batch)
            errors.append({"batch_id": ctx.batch_id, "line": number, "errors": _line_errors(exc, number)})
            continue
        unknown = [
            field_error(["line", number, "themes", i], "unknown theme; GET /v1/themes lists them", "enum")
            for i, key in enumerate(item.themes)
            if key not in ctx.themes
        ]
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


async def _store_chunk(
    session: AsyncSession, batch: SignalBatch, validated: Validated, ctx: ChunkContext
) -> None:
    """Store a chunk's signals, its line errors and its counts. Should the database refuse the chunk (a value
    validation let through), the chunk is stored line by line, each in its own savepoint, and the lines it
    refuses are reported; a lost connection is not a bad line and propagates."""
    errors = list(validated.errors)
    accepted, duplicate = 0, validated.duplicates
    try:
        async with session.begin_nested():
            accepted, skipped, refused = await _write_lines(session, batch.id, validated.prepared, ctx)
        duplicate += skipped
        errors += refused
    except Exception as exc:
        if is_connection_error(exc):
            raise
        log.warning("batch_chunk_by_line", batch_id=str(batch.id), error=type(exc).__name__)
        for number, item in validated.prepared:
            try:
                async with session.begin_nested():
                    one, skipped, refused = await _write_lines(session, batch.id, [(number, item)], ctx)
            except Exception as line_exc:
                if is_connection_error(line_exc):
                    raise
                refused = [
                    {
                        "batch_id": batch.id,
                        "line": number,
                        "errors": [
                            field_error(
                                ["line", number],
                                f"the database refused this record ({type(line_exc).__name__})",
                                "storage",
                            )
                        ],
                    }
                ]
                one, skipped = 0, 0
            accepted += one
            duplicate += skipped
            errors += refused
    if errors:
        await session.execute(insert(SignalBatchError), sorted(errors, key=lambda e: e["line"]))
    batch.accepted += accepted
    batch.duplicate += duplicate
    batch.rejected += len(errors)


async def _write_lines(
    session: AsyncSession, batch_id: uuid.UUID, prepared: list[tuple[int, Prepared]], ctx: ChunkContext
) -> tuple[int, int, list[dict[str, Any]]]:
    """Insert the lines' signals and links: (inserted, duplicates of stored signals, reference errors)."""
    errors = []
    commitments = await known_commitments(session, [c for _, p in prepared for c in p.commitment_ids])
    candidates: list[Prepared] = []
    for number, p in prepared:
        problems = reference_errors(p, ctx.themes, commitments, ["line", number])
        if problems:
            errors.append({"batch_id": batch_id, "line": number, "errors": problems})
        else:
            candidates.append(p)
    inserted_ids = await _bulk_insert(session, candidates) if candidates else set()
    inserted = [p for p in candidates if p.row["id"] in inserted_ids]
    for commitment_id in await insert_links(
        session, inserted, copy=session.bind.dialect.name == "postgresql"
    ):
        commitment_changed(session, commitment_id)
    return len(inserted), len(candidates) - len(inserted), errors


async def batch_view(session: AsyncSession, batch_id: uuid.UUID, scope: SignalScope) -> dict[str, Any]:
    batch = await session.get(SignalBatch, batch_id)
    if batch is None or not (scope.unrestricted or batch.party_id == scope.party_id):
        raise NotFound(f"No batch with id {batch_id}.")
    errors = (
        (
            await session.execute(
                select(SignalBatchError)
                .where(SignalBatchError.batch_id == batch_id)
                .order_by(SignalBatchError.line)
                .limit(MAX_ERRORS_SHOWN + 1)
            )
        )
        .scalars()
        .all()
    )
    return {
        "id": batch.id,
        "format": batch.format,
        "status": batch.status,
        "total_lines": batch.total_lines,
        "processed_lines": batch.processed_lines,
        "accepted": batch.accepted,
        "duplicate": batch.duplicate,
        "rejected": batch.rejected,
        "errors": [{"line": e.line, "errors": e.errors} for e in errors[:MAX_ERRORS_SHOWN]],
        "errors_truncated": len(errors) > MAX_ERRORS_SHOWN,
        "failure": batch.failure,
        "created_at": batch.created_at,
        "finished_at": batch.finished_at,
    }


async def stalled_batches(session: AsyncSession, idle: dt.timedelta = STALL_AFTER) -> list[uuid.UUID]:
    """Unfinished batches without progress for `idle` (the job was lost: Redis outage, worker killed)."""
    stmt = select(SignalBatch.id).where(
        SignalBatch.status.in_([BatchStatus.pending, BatchStatus.processing]),
        SignalBatch.updated_at < utcnow() - idle,
    )
    return list((await session.execute(stmt)).scalars())
