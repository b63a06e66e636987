"""Exports: a list's records under its filters, whole, as CSV, NDJSON or XLSX; signals only as suppressed aggregates.

An export is its list endpoint paged through to the end: the same filter model, the same conditions, the same
read per page (keyset cursors, so each page is an index range scan and memory holds one page), the same access
rule. Bytes go out as pages are read (shared/exports/formats.py).
"""

# No `from __future__ import annotations`: the routes made in register() annotate with local values, which
# FastAPI must see evaluated.
import datetime as dt
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field, create_model

from services.api.crud import ResourceReads
from services.api.deps import Reader, read_session
from services.api.errors import problem_responses
from services.api.openapi import ok
from services.api.query import QueryModel
from services.api.ratelimit import RateLimited
from services.api.routers.milestones import reads as milestone_reads
from services.api.routers.resources import recommendations_reads
from shared.commitments.repository import CommitmentRepository
from shared.commitments.schemas import CommitmentFilters
from shared.commitments.service import CommitmentService
from shared.exports import columns
from shared.exports.formats import MEDIA_TYPES, ExportFormat, choose_format, stream
from shared.milestones.repository import MilestoneRepository
from shared.milestones.schemas import MilestoneFilters
from shared.pagination import Sorting
from shared.recommendations.repository import RecommendationRepository
from shared.recommendations.schemas import RecommendationFilters
from shared.schemas import StrictModel
from shared.signals.schemas import StatsParams
from shared.signals.stats import signal_stats
from shared.status.messages import LANGUAGES, reader_language
from shared.tk.queries import TkQueries
from shared.tk.repository import ToezeggingRepository
from shared.tk.schemas import ToezeggingFilters

router = APIRouter(prefix="/v1/exports", tags=["exports"], dependencies=[RateLimited])

BATCH = 1000  # rows per read: large enough that a round trip per page costs little, small enough to stay flat
PAGING = ("limit", "cursor")  # an export has no pages of its own

Language = Literal[LANGUAGES]  # type: ignore[valid-type]


class ExportOptions(StrictModel):
    format: ExportFormat | None = Field(
        default=None, description="csv, ndjson or xlsx; when given, it decides instead of the Accept header."
    )
    lang: Language = Field(
        default="nl",
        description="Column names and the first reason's message in Dutch (`nl`, "
        "the default) or English (`en`).",
    )


def export_params(filters: type[BaseModel]) -> type[BaseModel]:
    """The list's filter model (its sort included) without paging, plus `format` and `lang`: one definition of
    each filter, so an export takes exactly what its list takes."""
    fields: dict[str, Any] = {
        name: (f.annotation, f) for name, f in filters.model_fields.items() if name not in PAGING
    }
    name = filters.__name__.removesuffix("Filters") + "Export"
    return create_model(name, __base__=ExportOptions, __module__=__name__, **fields)


def list_params(filters: type[BaseModel], params: BaseModel, cursor: str | None) -> Any:
    """The list's own filter object for one page of the export (built, not validated: `params` was)."""
    chosen = params.model_dump(exclude=set(ExportOptions.model_fields))
    return filters.model_construct(**chosen, limit=BATCH, cursor=cursor)


Page = tuple[list[Any], str | None]
Reader_ = Callable[[Any, str | None], Awaitable[Page]]  # (session, cursor) -> one page of list items


async def _in_language(lang: str, read: Reader_, db: Any, cursor: str | None) -> Page:
    """A page read with reasons rendered in the export's language (the output models render in the reader's)."""
    token = reader_language.set(lang)
    try:
        return await read(db, cursor)
    finally:
        reader_language.reset(token)


def export_response(
    request: Request,
    *,
    read: Reader_ | None,
    first: Page,
    fmt: ExportFormat,
    lang: str,
    cols: Sequence[columns.Column],
    name: str,
    rows: Callable[[list[Any]], list[Any]] | None = None,
) -> StreamingResponse:
    """The export's response: `first` (read before the response starts, so a failing database is still a problem
    response), then, while a page names a next one, page after page from `read` in a session of the stream's own."""

    async def batches() -> AsyncIterator[list[list[Any]]]:
        items, cursor = first
        yield columns.values(cols, rows(items) if rows else items)
        if cursor is None or read is None:
            return
        async with read_session(request.app) as db:
            while cursor is not None:
                items, cursor = await _in_language(lang, read, db, cursor)
                db.expunge_all()  # the page's records are rendered; the identity map must not grow
                yield columns.values(cols, rows(items) if rows else items)

    filename = f"nakoming-{name}-{dt.date.today():%Y%m%d}.{fmt.value}"
    return StreamingResponse(
        stream(fmt, columns.header(cols, lang), batches(), title=name),
        media_type=MEDIA_TYPES[fmt],
        # Vary: the format may come from Accept (caches must keep the formats apart).
        headers={"Content-Disposition": f'attachment; filename="{filename}"', "Vary": "Accept"},
    )


async def _export(
    request: Request,
    params: Any,
    *,
    read: Reader_,
    cols: Sequence[columns.Column],
    name: str,
    rows: Callable[[list[Any]], list[Any]] | None = None,
) -> StreamingResponse:
    fmt = choose_format(params.format, request.headers.get("accept"))
    async with read_session(request.app) as db:
        first = await _in_language(params.lang, read, db, None)
    return export_response(
        request, read=read, first=first, fmt=fmt, lang=params.lang, cols=cols, rows=rows, name=name
    )


def responses(what: str) -> dict[int | str, dict[str, Any]]:
    """The export's success response in each format, with its Content-Disposition, and its problems."""
    success = ok(f"{what}, streamed in the chosen format", "Content-Disposition")
    success[200]["content"] = {
        MEDIA_TYPES[ExportFormat.csv]: {"schema": {"type": "string"}},
        MEDIA_TYPES[ExportFormat.ndjson]: {"schema": {"type": "string"}},
        MEDIA_TYPES[ExportFormat.xlsx]: {"schema": {"type": "string", "format": "binary"}},
    }
    return {**success, **problem_responses(401, 403, 406, 422, 429)}


NEGOTIATION = (
    "The format: `format` when given, else the `Accept` header (text/csv, application/x-ndjson, "
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet; CSV for */* or none); 406 "
    "otherwise. Column names and the first reason in Dutch (`lang=nl`) or English (`lang=en`)."
)


def register(
    path: str,
    *,
    name: str,
    filters: type[BaseModel],
    sorting: Sorting,
    what: str,
    detail: str,
    reader: Callable[[Request, Any], Reader_],
    cols: Callable[[str], list[columns.Column]],
    rows: Callable[[list[Any]], list[Any]] | None = None,
) -> None:
    """`GET /v1/exports/<path>`: the list with `filters` (sorted by `sorting`) paged through by `reader(request,
    params)`, a row per item (or per `rows(items)`) in the columns `cols(lang)`."""
    model = export_params(filters)

    @router.get(
        path,
        operation_id=f"exports-{name}",
        response_class=StreamingResponse,
        summary=f"Export {name}",
        responses=responses(what),
        description=f"{what}{detail}. {NEGOTIATION}",
    )
    async def export(
        request: Request, _: Reader, params: Annotated[Any, Depends(QueryModel(model, sorting))]
    ) -> StreamingResponse:
        return await _export(
            request, params, read=reader(request, params), cols=cols(params.lang), rows=rows, name=name
        )


def list_reader(reads: ResourceReads, filters: type[BaseModel]) -> Callable[[Request, Any], Reader_]:
    """Pages of a CRUD resource's list read (services/api/crud.py), the same the list endpoint answers with."""

    def reader(request: Request, params: Any) -> Reader_:
        async def read(db: Any, cursor: str | None) -> Page:
            page = await reads.list(db, list_params(filters, params, cursor))
            return page["items"], page["next_cursor"]

        return read

    return reader


def commitment_reader(request: Request, params: Any) -> Reader_:
    """The commitment list's read (PostgreSQL: its raw path), with the reasons decoded to take the first one."""
    raw = request.app.state.raw_db
    conditions = CommitmentService.conditions(params)

    async def read(db: Any, cursor: str | None) -> Page:
        return await CommitmentRepository.list_page(
            raw if raw is not None else db,
            conditions,
            sort=params.sort,
            cursor=cursor,
            limit=BATCH,
            decoded=True,
        )

    return read


def toezegging_reader(request: Request, params: Any) -> Reader_:
    async def read(db: Any, cursor: str | None) -> Page:
        return await TkQueries(db).list_toezeggingen(list_params(ToezeggingFilters, params, cursor))

    return read


register(
    "/commitments",
    name="commitments",
    filters=CommitmentFilters,
    sorting=CommitmentRepository.sorting,
    what="Every commitment matching the list's filters (GET /v1/commitments)",
    detail=", with its status and first reason",
    reader=commitment_reader,
    cols=columns.commitments,
)
register(
    "/recommendations",
    name="recommendations",
    filters=RecommendationFilters,
    sorting=RecommendationRepository.sorting,
    what="Every recommendation matching the list's filters (GET /v1/recommendations)",
    detail=", with its status and first reason",
    reader=list_reader(recommendations_reads, RecommendationFilters),
    cols=columns.recommendations,
)
register(
    "/milestones",
    name="milestones",
    filters=MilestoneFilters,
    sorting=MilestoneRepository.sorting,
    what="Every milestone matching the list's filters (GET /v1/milestones)",
    detail=", one row per measurement (a milestone without measurements: one row, measurement columns empty), "
    "with its status and first reason",
    reader=list_reader(milestone_reads, MilestoneFilters),
    cols=columns.milestones,
    rows=columns.milestone_rows,
)
register(
    "/tk/toezeggingen",
    name="tk-toezeggingen",
    filters=ToezeggingFilters,
    sorting=ToezeggingRepository.sorting,
    what="Every toezegging in the TK mirror matching the list's filters (GET /v1/tk/toezeggingen)",
    detail=", with its normalised and raw TK status and the commitment that follows it",
    reader=toezegging_reader,
    cols=columns.toezeggingen,
)


class StatsExport(StatsParams, ExportOptions):
    """The stats query and the export options."""


@router.get(
    "/signals/stats",
    operation_id="exports-signals-stats",
    response_class=StreamingResponse,
    responses=responses("The signal counts per group, small cells suppressed as in GET /v1/signals/stats"),
    description="GET /v1/signals/stats as a file: one row per group, with the same suppression (never a "
    "row per signal); a table withheld whole is one row with reason `table`. " + NEGOTIATION,
)
async def export_signal_stats(
    request: Request, _: Reader, params: Annotated[StatsExport, Depends(QueryModel(StatsExport))]
) -> StreamingResponse:
    """The signal counts per group as GET /v1/signals/stats publishes them, small cells suppressed."""
    fmt = choose_format(params.format, request.headers.get("accept"))
    async with read_session(request.app) as db:
        table = await signal_stats(db, params, request.app.state.settings.min_cell)
    # A table withheld whole (reason `table`) is one row saying so: an empty file would read as "no signals".
    withheld = [{"group": None, "count": None, "suppressed": True, "reason": table["reason"]}]
    items = withheld if table["suppressed"] else table["items"]
    return export_response(
        request,
        read=None,
        first=(items, None),
        fmt=fmt,
        lang=params.lang,
        cols=columns.signal_stats(table),
        name="signal-stats",
    )
