"""TK mirror (toezeggingen, documents, suggestions) and the sync runs behind it."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request

from services.api.deps import Admin, ReadDb, Reader, WriteDb, actor_of, get_settings
from services.api.errors import problem_responses
from services.api.openapi import ok
from services.api.query import QueryModel
from shared.audit.service import record
from shared.pagination import page_of
from shared.settings import Settings
from shared.tk.categories import canonical_category
from shared.tk.events import request_sync
from shared.tk.queries import TkQueries
from shared.tk.repository import (
    DocumentRepository,
    QuarantineRepository,
    SyncRunRepository,
    ToezeggingRepository,
)
from shared.tk.schemas import (
    DocumentFilters,
    DocumentOut,
    Nummer,
    QuarantineFilters,
    QuarantineOut,
    SuggestionFilters,
    SuggestionOut,
    SyncRunAccepted,
    SyncRunFilters,
    SyncRunOut,
    SyncRunRequest,
    SyncStateList,
    ToezeggingFilters,
    ToezeggingOut,
)

tk = APIRouter(prefix="/v1/tk", tags=["tk"])
sync = APIRouter(prefix="/v1/sync", tags=["sync"])


@tk.get(
    "/toezeggingen",
    operation_id="tk-toezeggingen-list",
    response_model=page_of(ToezeggingOut),
    responses={**ok("One page of toezeggingen"), **problem_responses(400, 401, 403, 422)},
)
async def list_toezeggingen(
    db: ReadDb,
    _: Reader,
    params: Annotated[
        ToezeggingFilters, Depends(QueryModel(ToezeggingFilters, ToezeggingRepository.sorting))
    ],
) -> Any:
    """Toezeggingen in the TK mirror (deleted ones not listed), newest change first; `origin`: feed/sample."""
    items, cursor = await TkQueries(db).list_toezeggingen(params)
    return {"items": items, "next_cursor": cursor}


@tk.get(
    "/toezeggingen/{nummer}",
    operation_id="tk-toezeggingen-get",
    response_model=ToezeggingOut,
    responses={**ok("The toezegging"), **problem_responses(401, 403, 404, 422)},
)
async def get_toezegging(
    nummer: Annotated[Nummer, Path(description="The toezegging's TK nummer, e.g. TZ202511-041.")],
    db: ReadDb,
    _: Reader,
) -> Any:
    """One toezegging by its TK nummer, with the fulfilment letter when it is known."""
    return await TkQueries(db).get_toezegging(nummer)


@tk.get(
    "/documents",
    operation_id="tk-documents-list",
    response_model=page_of(DocumentOut),
    responses={**ok("One page of documents"), **problem_responses(400, 401, 403, 422)},
)
async def list_documents(
    db: ReadDb,
    _: Reader,
    params: Annotated[DocumentFilters, Depends(QueryModel(DocumentFilters, DocumentRepository.sorting))],
) -> Any:
    """Relevant TK documents (watched dossiers, fulfilment letters, watched terms); `origin`: feed/sample."""
    items, cursor = await TkQueries(db).list_documents(params)
    return {"items": items, "next_cursor": cursor}


@tk.get(
    "/suggestions",
    operation_id="tk-suggestions-list",
    response_model=page_of(SuggestionOut),
    responses={**ok("One page of suggested toezeggingen"), **problem_responses(400, 401, 403, 422)},
)
async def list_suggestions(
    db: ReadDb,
    _: Reader,
    settings: Annotated[Settings, Depends(get_settings)],
    params: Annotated[
        SuggestionFilters, Depends(QueryModel(SuggestionFilters, ToezeggingRepository.sorting))
    ],
) -> Any:
    """Toezeggingen of the watched ministry matching the watched terms that no commitment follows yet."""
    items, cursor = await TkQueries(db).suggestions(params, settings)
    return {"items": items, "next_cursor": cursor}


@sync.post(
    "/runs",
    operation_id="sync-runs-create",
    response_model=SyncRunAccepted,
    status_code=202,
    responses={**ok("The sync jobs, enqueued", status=202), **problem_responses(400, 401, 403, 422)},
)
async def create_sync_run(
    db: WriteDb, principal: Admin, request: Request, body: SyncRunRequest | None = None
) -> Any:
    """Enqueue a sync of the given categories (all when omitted); one job per category."""
    categories = [canonical_category(c) for c in body.categories] if body and body.categories else None
    enqueued = request_sync(db, categories, trigger="api")
    await record(
        db,
        actor_of(request, principal),
        "sync_runs.create",
        "sync_runs",
        [],
        detail={"categories": [c for c, _ in enqueued]},
    )
    return {"enqueued": [{"category": c, "job_id": j} for c, j in enqueued]}


@sync.get(
    "/runs",
    operation_id="sync-runs-list",
    response_model=page_of(SyncRunOut),
    responses={**ok("One page of sync runs"), **problem_responses(400, 401, 403, 422)},
)
async def list_sync_runs(
    db: ReadDb,
    _: Reader,
    params: Annotated[SyncRunFilters, Depends(QueryModel(SyncRunFilters, SyncRunRepository.sorting))],
) -> Any:
    """Recorded sync runs, newest first."""
    rows, cursor = await TkQueries(db).list_runs(params)
    return {"items": [SyncRunOut.model_validate(r) for r in rows], "next_cursor": cursor}


@sync.get(
    "/state",
    operation_id="sync-state-get",
    response_model=SyncStateList,
    responses={**ok("The sync state per category"), **problem_responses(401, 403)},
)
async def get_sync_state(db: ReadDb, _: Reader) -> Any:
    """Per category: checkpoint, last success and error, counts (quarantined, unchanged, ...), samples."""
    queries = TkQueries(db)
    return {
        "items": await queries.state(),
        "next_cursor": None,
        "documents_wanted": await queries.documents_wanted(),
    }


@sync.get(
    "/quarantine",
    operation_id="sync-quarantine-list",
    response_model=page_of(QuarantineOut),
    responses={**ok("One page of quarantined entities"), **problem_responses(400, 401, 403, 422)},
)
async def list_quarantine(
    db: ReadDb,
    _: Reader,
    params: Annotated[
        QuarantineFilters, Depends(QueryModel(QuarantineFilters, QuarantineRepository.sorting))
    ],
) -> Any:
    """Feed entities the parser could not read, kept raw with the reason; their pages went on."""
    rows, cursor = await TkQueries(db).quarantine(params)
    return {"items": [QuarantineOut.model_validate(r) for r in rows], "next_cursor": cursor}
