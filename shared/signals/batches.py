"""Batch intake: the upload is stored durably (the raw body in its `signal_batches` row) before the 202,
then processed by the worker in chunks. Each chunk commits its signals, its line errors and the batch's
cursor together, so a restarted or repeated job resumes where the last commit left off and never
double-inserts; (source_system, external_id) is the backstop. One bad line never loses the good ones.
"""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import Iterator
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
from shared.errors import BadRequest, NakomingError, NotFound
from shared.settings import Settings
from shared.signals.access import SignalScope
from shared.signals.models import BatchStatus, ClientSignal, SignalBatch, SignalBatchError
from shared.signals.privacy import pseudonymiser
from shared.signals.schemas import SignalIn, reject_bsn
from shared.signals.service import (
    Prepared, apply_scope, insert_links, known_commitments, known_themes, prepare, provider_party_map,
    reference_errors,
)

log = structlog.get_logger("nakoming.signals.batches")

MAX_RECORDS = 100_000
MAX_BYTES = 64 * 1024 * 1024
CHUNK = 2_000
MAX_ERRORS_SHOWN = 1_000
PROCESS_JOB = "signals.process_batch"
FORMATS = {"application/x-ndjson": "ndjson", "application/ndjson": "ndjson", "application/jsonl": "ndjson",
           "application/json-seq": "ndjson", "text/csv": "csv", "application/csv": "csv"}
LIST_COLUMNS = {"themes", "commitment_ids"}
BOOL_COLUMNS = {"anonymous", "extension_recorded"}
TRUE, FALSE = {"true", "1", "ja", "yes", "j", "y"}, {"false", "0", "nee", "no", "n", ""}


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


def parse_records(body: bytes, fmt: str) -> Iterator[tuple[int, Any]]:
    """(line number, raw record or an Exception) for every record, in order. Line numbers are 1-based."""
    if fmt == "ndjson":
        for number, line in enumerate(_lines(body), start=1):
            if not line.strip():
                continue
            try:
                yield number, orjson.loads(line)
            except orjson.JSONDecodeError:
                yield number, ValueError("not valid JSON")
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
        yield number, _csv_record(header, row)


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


def _validate(raw: Any, number: int, scope: SignalScope) -> SignalIn:
    if isinstance(raw, Exception):
        raise raw
    if not isinstance(raw, dict):
        raise ValueError("a record must be a JSON object")
    reject_bsn(raw)
    data = SignalIn.model_validate(raw)
    apply_scope(data, scope, ["line", number])
    return data


def _insert_ignoring_duplicates(dialect: str) -> Any:
    stmt = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(ClientSignal.__table__)
    return stmt.on_conflict_do_nothing(index_elements=["source_system", "external_id"]).returning(
        ClientSignal.__table__.c.id)


async def _lock(session: AsyncSession, batch_id: uuid.UUID) -> SignalBatch | None:
    stmt = select(SignalBatch).where(SignalBatch.id == batch_id).execution_options(populate_existing=True)
    if session.bind.dialect.name == "postgresql":  # type: ignore[union-attr]
        stmt = stmt.with_for_update()
    return (await session.execute(stmt)).scalars().first()


async def process_batch(factory: async_sessionmaker[AsyncSession], settings: Settings, batch_id: uuid.UUID,
                        *, chunk_size: int = CHUNK) -> SignalBatch | None:
    async with session_scope(factory) as session:
        batch = await _lock(session, batch_id)
        if batch is None or batch.status in (BatchStatus.done, BatchStatus.failed) or batch.body is None:
            return batch
        batch.status = BatchStatus.processing
        body, fmt, start = batch.body, batch.format, batch.processed_lines
        scope = await _scope_of(session, batch)
        actor = Actor(name=f"batch:{batch.id}", key_id=batch.key_id, party_id=batch.party_id,
                      request_id=batch.request_id)
    pseudo = pseudonymiser(settings)
    records = list(parse_records(body, fmt))
    position = start
    while position < len(records):
        chunk = records[position:position + chunk_size]
        async with session_scope(factory) as session:
            batch = await _lock(session, batch_id)
            if batch is None or batch.processed_lines != position:
                # Another run moved on (or the batch is gone): continue from its cursor, never redo a chunk.
                if batch is None or batch.status == BatchStatus.done:
                    return batch
                position = batch.processed_lines
                continue
            await _process_chunk(session, settings, batch, chunk, scope, pseudo)
            batch.processed_lines = position + len(chunk)
        position += len(chunk)
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


async def _scope_of(session: AsyncSession, batch: SignalBatch) -> SignalScope:
    from shared.parties.models import Party

    if batch.party_id is None:
        return SignalScope(unrestricted=True)
    party = await session.get(Party, batch.party_id)
    if party is None:
        return SignalScope(unrestricted=False)
    return SignalScope(False, party.id, party.zorgkantoor_code, party.agb_code)


async def _process_chunk(session: AsyncSession, settings: Settings, batch: SignalBatch,
                         chunk: list[tuple[int, Any]], scope: SignalScope, pseudo: Any) -> None:
    valid: list[tuple[int, SignalIn]] = []
    errors: list[dict[str, Any]] = []
    for number, raw in chunk:
        try:
            valid.append((number, _validate(raw, number, scope)))
        except (ValidationError, NakomingError, ValueError) as exc:
            errors.append({"batch_id": batch.id, "line": number, "errors": _line_errors(exc, number)})
    parties = await provider_party_map(session, [d.provider_agb for _, d in valid if d.provider_agb])
    prepared = [(n, prepare(d, pseudo=pseudo, settings=settings, provider_parties=parties, batch_id=batch.id))
                for n, d in valid]
    themes = await known_themes(session, [t for _, p in prepared for t in p.themes])
    commitments = await known_commitments(session, [c for _, p in prepared for c in p.commitment_ids])
    candidates: list[Prepared] = []
    seen: set[tuple[str, str]] = set()
    duplicates = 0
    for number, p in prepared:
        problems = reference_errors(p, themes, commitments, ["line", number])
        if problems:
            errors.append({"batch_id": batch.id, "line": number, "errors": problems})
            continue
        natural = (p.row["source_system"], p.row["external_id"])
        if natural in seen:
            duplicates += 1
            continue
        seen.add(natural)
        candidates.append(p)
    inserted_ids: set[uuid.UUID] = set()
    if candidates:
        stmt = _insert_ignoring_duplicates(session.bind.dialect.name)  # type: ignore[union-attr]
        rows = [p.row for p in candidates]
        for start in range(0, len(rows), 1000):
            result = await session.execute(stmt.values(rows[start:start + 1000]))
            inserted_ids.update(result.scalars())
    inserted = [p for p in candidates if p.row["id"] in inserted_ids]
    for commitment_id in await insert_links(session, inserted):
        commitment_changed(session, commitment_id)
    if errors:
        await session.execute(insert(SignalBatchError), errors)
    batch.accepted += len(inserted)
    batch.duplicate += duplicates + len(candidates) - len(inserted)
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


async def pending_batches(session: AsyncSession) -> list[uuid.UUID]:
    """Batches not finished (for a sweep after a worker outage)."""
    stmt = select(SignalBatch.id).where(SignalBatch.status.in_([BatchStatus.pending, BatchStatus.processing]))
    return list((await session.execute(stmt)).scalars())

