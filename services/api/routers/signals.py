"""Client signals: intake (single and batch), scoped reads, and suppressed aggregates."""

from __future__ import annotations

import csv
import io
import uuid
from typing import Annotated, Any, cast

import orjson
from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from services.api.crud import IfMatch, check_if_match, id_param
from services.api.deps import ReadDb, Reader, WriteDb, actor_of, require, write_session
from services.api.errors import problem_responses
from services.api.idempotency import (
    Idempotency,
    IdempotencyKey,
    IdempotentReplay,
    audit_replay,
    audited_replays,
    claimed,
)
from services.api.openapi import ok
from services.api.query import QueryModel
from services.api.ratelimit import RateLimited
from shared.auth.service import Principal, Scope
from shared.commitments.events import recalculation
from shared.idempotency.service import fingerprint
from shared.jobs import defer, enqueue_jobs
from shared.pagination import page_of
from shared.signals import batches, intake
from shared.signals.access import scope_for
from shared.signals.privacy import pseudonymiser
from shared.signals.repository import SignalRepository
from shared.signals.schemas import (
    BatchOut,
    SignalFilters,
    SignalIn,
    SignalOut,
    SignalUpdate,
    StatsOut,
    StatsParams,
    TrendOut,
    TrendParams,
)
from shared.signals.service import RESOURCE, SignalService
from shared.signals.stats import signal_stats, signal_trends

router = APIRouter(prefix="/v1/signals", tags=["signals"], dependencies=[RateLimited])

# A new signal is at version 1 (as GET shows it); a replayed response carries no ETag, since the signal may
# have changed since (GET it for the current one).
_NEW_ETAG = '"1"'

SignalId = Annotated[uuid.UUID, id_param("signal")]
BatchId = Annotated[uuid.UUID, id_param("batch")]
SignalWriter = Annotated[Principal, Depends(require(Scope.signals_write))]
SignalReader = Annotated[Principal, Depends(require(Scope.signals_read))]
BatchReader = Annotated[Principal, Depends(require(Scope.signals_write, Scope.signals_read))]


async def _service(request: Request, db: Any, principal: Principal) -> SignalService:
    return SignalService(
        db, request.app.state.settings, await scope_for(db, principal), actor_of(request, principal)
    )


@router.post(
    "",
    operation_id="signals-create",
    response_model=SignalOut,
    status_code=201,
    responses={
        **ok("The signal, registered (a replay carries no ETag)", "Location", "ETag", status=201),
        **problem_responses(400, 401, 403, 409, 422, 429),
    },
)
async def create_signal(
    request: Request, principal: SignalWriter, key: IdempotencyKey, body: SignalIn
) -> Response:
    """Register one client signal (needs an Idempotency-Key header; a repeat replays the first response)."""
    raw = request.app.state.raw_db
    try:
        if raw is not None:  # PostgreSQL: the whole unit of work in one statement (shared/signals/intake.py)
            return await _create_raw(request, raw, principal, key, body)
        async with claimed(request, principal, key) as idem, write_session(request.app) as db:
            out = await (await _service(request, db, principal)).create(body)
            response = await idem.respond(db, 201, out, location=f"/v1/signals/{out.id}", resource_id=out.id)
    except IdempotentReplay as replay:
        await audit_replay(request, principal, replay.stored, intake.CREATE_ACTION, RESOURCE)
        raise
    response.headers["ETag"] = _NEW_ETAG
    return response


async def _create_raw(request: Request, raw: Any, principal: Principal, key: str, body: SignalIn) -> Response:
    settings = request.app.state.settings
    method, path = request.method, request.url.path
    async with raw.connection() as conn:
        result = await intake.create(
            conn,
            body,
            principal=principal,
            actor=actor_of(request, principal),
            settings=settings,
            pseudo=pseudonymiser(settings),
            idempotency_key=key,
            method=method,
            path=path,
            fingerprint=fingerprint(method, path, await request.body()),
        )
    if isinstance(result, intake.Replay):
        raise IdempotentReplay(result.stored)
    # After the commit, as commitment_changed() + flush_jobs do on the session path.
    await enqueue_jobs(request.app.state.queue, [recalculation(c) for c in result.commitment_ids])
    return Response(
        result.body,
        status_code=201,
        media_type="application/json",
        headers={"Location": result.location, "ETag": _NEW_ETAG},
    )


def _batch_body() -> dict[str, Any]:
    """The upload formats, documented with the columns and rules the parser applies (shared/signals/batches.py)."""
    extra = cast(dict[str, Any], SignalIn.model_config["json_schema_extra"])
    example: dict[str, Any] = extra["examples"][0]
    example = {**example, "themes": ["bejegening", "sociale-veiligheid"]}
    ndjson = "\n".join(
        orjson.dumps({**example, "external_id": f"KL-2026-{n:04d}"}).decode() for n in (42, 43)
    )
    columns = list(example)
    row = [";".join(v) if isinstance(v, list) else str(v) for v in example.values()]
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows([columns, row])
    return {
        "required": True,
        "description": batches.csv_format(),
        "content": {
            "application/x-ndjson": {"schema": {"type": "string"}, "example": ndjson},
            "text/csv": {"schema": {"type": "string"}, "example": out.getvalue()},
        },
    }


BatchIdempotent = Annotated[Idempotency, audited_replays(batches.CREATE_ACTION, batches.RESOURCE)]


@router.post(
    "/batches",
    operation_id="signal-batches-create",
    response_model=BatchOut,
    status_code=202,
    responses={
        **ok("The batch, stored and queued for processing", "Location", status=202),
        **problem_responses(400, 401, 403, 409, 413, 415, 422, 429),
    },
    openapi_extra={"requestBody": _batch_body()},
)
async def create_batch(
    request: Request, principal: SignalWriter, idem: BatchIdempotent, db: WriteDb
) -> Response:
    """Upload up to 100,000 signals as NDJSON or CSV; stored at once, processed by the worker (202)."""
    fmt = batches.format_of(request.headers.get("content-type"))
    await scope_for(db, principal)  # a key bound to a party without codes cannot write signals at all
    batch = await batches.create_batch(
        db,
        body=await request.body(),
        fmt=fmt,
        actor=actor_of(request, principal),
        max_bytes=request.app.state.settings.max_batch_bytes,
    )
    defer(db, batches.processing(batch.id))
    view = await batches.batch_view(db, batch.id, await scope_for(db, principal))
    return await idem.respond(
        db,
        202,
        BatchOut.model_validate(view),
        location=f"/v1/signals/batches/{batch.id}",
        resource_id=batch.id,
    )


@router.get(
    "/batches/{batch_id}",
    operation_id="signal-batches-get",
    response_model=BatchOut,
    responses={**ok("The batch and its progress"), **problem_responses(401, 403, 404, 422, 429)},
)
async def get_batch(batch_id: BatchId, request: Request, principal: BatchReader, db: ReadDb) -> Any:
    """A batch's progress: counts accepted / duplicate / rejected and the per-line errors."""
    return await batches.batch_view(db, batch_id, await scope_for(db, principal))


_AGGREGATE_RULE = (
    "No count under NAKOMING_MIN_CELL (N) can be computed back from any two answers of /stats and /trends. Windows "
    "are whole calendar months. A figure is hidden when it is under N ('<N'), when one of its months holds 1..N-1 "
    "of its signals, or when dropping a filter changes it by 1..N-1 in some month (then `count` is null and "
    "`reason` says why). Outside month series, the smallest visible cells are also withheld (secondary "
    "suppression, reason `complementary`) so a table's total minus its visible cells reveals no hidden cell; when "
    "no choice achieves that, the table lists no cells. Rates, expected counts and p-values are withheld whenever "
    "a count they use is hidden."
)


@router.get(
    "/stats",
    operation_id="signals-stats",
    response_model=StatsOut,
    response_model_by_alias=True,
    responses={**ok("Counts per group, small cells suppressed"), **problem_responses(401, 403, 422, 429)},
    description="Signal counts per theme, provider, location, zorgkantoor or month. " + _AGGREGATE_RULE,
)
async def signal_statistics(
    params: Annotated[StatsParams, Depends(QueryModel(StatsParams))], db: ReadDb, _: Reader, request: Request
) -> Any:
    """Signal counts per theme, provider, location, zorgkantoor or month; small cells shown as '<N'."""
    return await signal_stats(db, params, request.app.state.settings.min_cell)


@router.get(
    "/trends",
    operation_id="signals-trends",
    response_model=TrendOut,
    responses={**ok("Monthly counts and the trend verdict"), **problem_responses(401, 403, 422, 429)},
    description="Monthly counts, the baseline rate and whether the last month is a significant rise. "
    + _AGGREGATE_RULE,
)
async def signal_trend(
    params: Annotated[TrendParams, Depends(QueryModel(TrendParams))], db: ReadDb, _: Reader, request: Request
) -> Any:
    """Monthly counts, the baseline rate and whether the last period is a significant rise."""
    return await trend(db, params, request.app.state.settings)


async def trend(db: Any, params: TrendParams, settings: Any) -> TrendOut:
    """The trend's read (also the status board's): months under the minimum cell suppressed, the rise test with
    the status engine's thresholds."""
    return TrendOut.model_validate(
        await signal_trends(
            db, params, settings.min_cell, alpha=settings.signal_alpha, min_count=settings.signal_min_count
        )
    )


@router.get(
    "",
    operation_id="signals-list",
    response_model=page_of(SignalOut),
    responses={**ok("One page of signals"), **problem_responses(400, 401, 403, 422, 429)},
)
async def list_signals(
    request: Request,
    principal: SignalReader,
    params: Annotated[SignalFilters, Depends(QueryModel(SignalFilters, SignalRepository.sorting))],
    db: WriteDb,
) -> Any:
    """Signals visible to this key (its own party's, or all for staff), one page at a time; audited."""
    items, cursor = await (await _service(request, db, principal)).list(params)
    return {"items": items, "next_cursor": cursor}


@router.get(
    "/{signal_id:uuid}",
    operation_id="signals-get",
    response_model=SignalOut,
    responses={**ok("The signal", "ETag"), **problem_responses(401, 403, 404, 422, 429)},
)
async def get_signal(
    signal_id: SignalId, request: Request, principal: SignalReader, db: WriteDb, response: Response
) -> Any:
    """One signal, when visible to this key (404 otherwise, whether or not it exists), with its ETag; audited."""
    out, version = await (await _service(request, db, principal)).get(signal_id)
    response.headers["ETag"] = f'"{version}"'
    return out


@router.patch(
    "/{signal_id:uuid}",
    operation_id="signals-update",
    response_model=SignalOut,
    responses={
        **ok("The signal, updated", "ETag"),
        **problem_responses(400, 401, 403, 404, 409, 412, 422, 429),
    },
)
async def update_signal(
    signal_id: SignalId,
    body: SignalUpdate,
    request: Request,
    principal: SignalWriter,
    db: WriteDb,
    response: Response,
    if_match: IfMatch = None,
) -> Any:
    """Record what happened to a signal: its status (ontvangen -> in_behandeling -> oordeel -> afgesloten, or
    doorgezet), its outcome, and the one Wkkgz extension of the judgement term (+4 weeks). Scoped like reads
    (a signal of another party is a 404); send the ETag from GET as If-Match (412 when it changed); audited."""
    svc = await _service(request, db, principal)
    obj = await svc.load(signal_id)
    check_if_match(obj, if_match)
    out, version = await svc.update(obj, body, conditional=if_match is not None)
    response.headers["ETag"] = f'"{version}"'
    return out
