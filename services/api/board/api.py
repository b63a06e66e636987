"""The board's only way to data: the reads of the public JSON API, called in-process.

Each method calls the very function its /v1 route answers with (services/api/routers), under the rule of every
public read (`may_read`: anyone while public reads are on, otherwise the reader's key), in the page's language
(the reasons are localised as the API localises them), and returns the body that route sends, as decoded JSON.
So the board can never show what that caller could not read from /v1 itself, and a page costs one check of the
caller and one read session instead of an HTTP round through the app per read.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack
from typing import Any, Self, TypeVar

import orjson
from fastapi import Request
from pydantic import BaseModel, ValidationError

from services.api.deps import may_read, principal_of_key, read_session
from services.api.ratelimit import count_request
from services.api.routers import commitments, fulfilment, milestones, resources, signals, status, themes
from shared.actions.schemas import ActionFilters
from shared.auth.service import ANONYMOUS, Principal
from shared.commitments.counts import commitment_counts
from shared.commitments.schemas import CommitmentFilters, CommitmentSelection
from shared.errors import BadRequest, Forbidden, NotFound, Unauthorized
from shared.milestones.schemas import MilestoneFilters
from shared.parties.schemas import PartyFilters
from shared.schemas import ListParams
from shared.signals.schemas import TrendParams
from shared.sources.schemas import SourceFilters
from shared.status.messages import reader_language
from shared.status.schemas import StatusHistoryParams
from shared.tk.queries import TkQueries
from shared.tk.schemas import SuggestionFilters, ToezeggingFilters

PAGE = 500  # the API's largest page
M = TypeVar("M", bound=BaseModel)


class NeedsKey(Exception):
    """The API would answer 401/403: reads are not public here, or the key given does not allow them."""


class NotFoundInApi(Exception):
    pass


class InvalidQuery(Exception):
    """The API would refuse the query (422; 400 for a cursor): the names of the fields, never their values."""

    def __init__(self, fields: list[str]) -> None:
        super().__init__(", ".join(fields))
        self.fields = fields


def _default(value: Any) -> Any:
    if isinstance(value, BaseModel):  # as FastAPI writes a response model: JSON mode, by alias
        return value.model_dump(mode="json", by_alias=True)
    return str(value)  # as the list endpoint writes what orjson does not know


def as_json(body: Any) -> Any:
    """The body as the API sends it, decoded: what a client of /v1 gets."""
    return orjson.loads(orjson.dumps(body, default=_default, option=orjson.OPT_UTC_Z))


def params(model: type[M], **values: Any) -> M:
    """Query parameters validated as the route validates its query string (422 -> InvalidQuery)."""
    try:
        return model.model_validate({k: str(v) for k, v in values.items() if v not in (None, "")})
    except ValidationError as exc:
        raise InvalidQuery([".".join(str(p) for p in e["loc"]) for e in exc.errors()]) from None


class Api:
    """One page's reads: `async with` checks the caller and opens the page's one read session."""

    def __init__(self, request: Request, *, language: str, key: str | None) -> None:
        self.request = request
        self.app = request.app
        self.language = language
        self.key = key
        self.principal: Principal = ANONYMOUS
        self._stack = AsyncExitStack()
        self._records: list[Any] = []
        self.db: Any = None

    async def __aenter__(self) -> Self:
        try:
            principal = await principal_of_key(self.app, self.key) if self.key else ANONYMOUS
            self.principal = may_read(principal, self.app.state.settings)
        except (Unauthorized, Forbidden):
            raise NeedsKey() from None
        token = reader_language.set(self.language)
        self._stack.callback(reader_language.reset, token)
        try:
            self.db = await self._stack.enter_async_context(read_session(self.app))
        except BaseException:
            await self._stack.aclose()
            raise
        return self

    async def __aexit__(self, *exc: Any) -> None:
        await self._stack.__aexit__(*exc)

    async def _read(self, read: Awaitable[Any]) -> Any:
        try:
            return as_json(await read)
        except NotFound:
            raise NotFoundInApi() from None
        except BadRequest:  # a malformed cursor
            raise InvalidQuery(["cursor"]) from None

    @staticmethod
    async def _or_none(read: Awaitable[Any]) -> Any:
        try:
            return await read
        except NotFoundInApi:
            return None

    async def _all(
        self, read: Callable[[Any, Any], Awaitable[Any]], model: type[M], **filters: Any
    ) -> list[Any]:
        """Every item of a list read (`read(db, params)`, `model` its parameters), page by page."""
        items: list[dict[str, Any]] = []
        cursor = None
        while True:
            body = await self._read(read(self.db, params(model, limit=PAGE, cursor=cursor, **filters)))
            items.extend(body["items"])
            cursor = body["next_cursor"]
            if not cursor:
                return items

    async def _get(self, reads: Any, ident: str) -> Any:
        async def read() -> Any:
            record, body = await reads.get(self.db, uuid.UUID(ident))
            # Held for the page: the session's identity map is weak, and a later read of the same record
            # (the fulfilments' commitment) finds it there instead of loading it again.
            self._records.append(record)
            return body

        return await self._read(read())

    # Commitments
    async def commitments(self, **filters: Any) -> dict[str, Any]:
        raw = self.app.state.raw_db
        query = params(CommitmentFilters, **filters)
        return await self._read(commitments.commitments_page(self.db if raw is None else raw, query))

    async def commitment_counts(self, **filters: Any) -> dict[str, Any]:
        return await self._read(commitment_counts(self.db, params(CommitmentSelection, **filters)))

    async def commitment(self, ident: str) -> dict[str, Any]:
        return await self._get(commitments.reads, ident)

    async def commitment_or_none(self, ident: str) -> dict[str, Any] | None:
        return await self._or_none(self._get(commitments.reads, ident))

    async def status_history(self, ident: str, limit: int) -> dict[str, Any]:
        query = params(StatusHistoryParams, limit=limit)
        return await self._read(status.status_history_page(self.db, uuid.UUID(ident), query))

    async def fulfilments(self, ident: str, limit: int) -> dict[str, Any]:
        query = params(ListParams, limit=limit)
        return await self._read(fulfilment.fulfilments_page(self.db, uuid.UUID(ident), query))

    # Milestones and actions
    async def milestones(self, **filters: Any) -> list[dict[str, Any]]:
        return await self._all(milestones.reads.list, MilestoneFilters, **filters)

    async def milestone(self, ident: str) -> dict[str, Any]:
        return await self._get(milestones.reads, ident)

    async def actions(self, **filters: Any) -> list[dict[str, Any]]:
        return await self._all(resources.actions_reads.list, ActionFilters, **filters)

    async def action_or_none(self, ident: str) -> dict[str, Any] | None:
        return await self._or_none(self._get(resources.actions_reads, ident))

    # Themes, parties, sources
    async def themes(self) -> list[dict[str, Any]]:
        return await self._all(themes.themes_page, ListParams)

    async def parties(self) -> list[dict[str, Any]]:
        return await self._all(resources.parties_reads.list, PartyFilters)

    async def party_or_none(self, ident: str) -> dict[str, Any] | None:
        return await self._or_none(self._get(resources.parties_reads, ident))

    async def sources(self) -> list[dict[str, Any]]:
        return await self._all(resources.sources_reads.list, SourceFilters)

    async def source(self, ident: str) -> dict[str, Any]:
        return await self._get(resources.sources_reads, ident)

    async def source_or_none(self, ident: str) -> dict[str, Any] | None:
        return await self._or_none(self._get(resources.sources_reads, ident))

    # TK
    async def toezegging_or_none(self, nummer: str) -> dict[str, Any] | None:
        return await self._or_none(self._read(TkQueries(self.db).get_toezegging(nummer)))

    async def toezeggingen(self) -> list[dict[str, Any]]:
        async def page(db: Any, query: ToezeggingFilters) -> dict[str, Any]:
            items, cursor = await TkQueries(db).list_toezeggingen(query)
            return {"items": items, "next_cursor": cursor}

        return await self._all(page, ToezeggingFilters)

    async def suggestions(self) -> list[dict[str, Any]]:
        async def page(db: Any, query: SuggestionFilters) -> dict[str, Any]:
            items, cursor = await TkQueries(db).suggestions(query, self.app.state.settings)
            return {"items": items, "next_cursor": cursor}

        return await self._all(page, SuggestionFilters)

    # Signals: rate limited like /v1/signals, for the board's own caller
    async def signal_trend(self, **filters: Any) -> dict[str, Any]:
        query = params(TrendParams, **filters)
        await count_request(self.request, self.principal)
        return await self._read(signals.trend(self.db, query, self.app.state.settings))
