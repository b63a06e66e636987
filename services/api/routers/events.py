"""The change feed: what changed, in commit order, resumable from any position it gave out."""

from __future__ import annotations

from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, Response

from services.api.deps import ReadDb, Reader
from services.api.errors import problem_responses
from services.api.openapi import ok
from services.api.query import QueryModel
from shared.events.access import EventReader
from shared.events.repository import START, EventRepository, Position
from shared.events.schemas import EventFilters, EventOut
from shared.pagination import page_of

router = APIRouter(prefix="/v1/events", tags=["events"])


@router.get(
    "",
    operation_id="events-list",
    response_model=page_of(EventOut),
    responses={
        **ok(
            "Events after the cursor, oldest first; `next_cursor` resumes after the last "
            "(or repeats the one sent when nothing new committed yet)"
        ),
        **problem_responses(400, 401, 403, 422),
    },
)
async def list_events(
    db: ReadDb, principal: Reader, params: Annotated[EventFilters, Depends(QueryModel(EventFilters))]
) -> Any:
    """The ordered change feed (outbox): poll with `after=<next_cursor>`; no event is skipped or invented."""
    raw = params.after or params.cursor
    position = Position.decode(raw) if raw else START
    rows = await EventRepository(db).page(
        position,
        limit=params.limit,
        types=[str(t) for t in params.types or ()],
        condition=EventReader.of(principal).condition(),
    )
    last = Position(rows[-1]["txid"], rows[-1]["id"]) if rows else position
    # Rows in EventOut's shape, serialised once (no model per event: a page of 500 is the hot path of a poller).
    body = {
        "items": [{k: v for k, v in row.items() if k != "txid"} for row in rows],
        "next_cursor": last.encode() if (rows or raw) else None,
    }
    return Response(orjson.dumps(body, option=orjson.OPT_UTC_Z), media_type="application/json")
