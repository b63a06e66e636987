"""Registers the standard list/get/create/update/delete operations of a resource on a router.

Each operation gets a stable operationId (`<resource>-list`, `-get`, `-create`, `-update`, `-delete`),
its problem responses, ETag on reads and If-Match on writes.
"""

import uuid
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Path, Request, Response
from pydantic import BaseModel

from services.api.deps import ReadDb, Reader, WriteDb, Writer, actor_of
from services.api.errors import problem_responses
from services.api.idempotency import OptionalIdempotent
from services.api.openapi import ok
from services.api.query import QueryModel
from shared.audit.changes import commitment_of
from shared.audit.service import changed, jsonable, record
from shared.auth.ownership import ensure_may_write, values_of
from shared.crud import CrudService
from shared.errors import PreconditionFailed
from shared.pagination import page_of

IfMatch = Annotated[
    str | None, Header(description="ETag from a GET; the write fails with 412 when it changed.")
]


def id_param(singular: str) -> Any:
    """The `{id}` path parameter of one resource, described: `Annotated[uuid.UUID, id_param("commitment")]`."""
    return Path(description=f"The {singular}'s id.")


CommitmentId = Annotated[uuid.UUID, id_param("commitment")]


def etag_of(obj: Any) -> str:
    return f'"{obj.version}"'


def check_if_match(obj: Any, if_match: str | None) -> None:
    if if_match is None:
        return
    candidates = {tag.strip().removeprefix("W/") for tag in if_match.split(",")}
    if "*" not in candidates and etag_of(obj) not in candidates:
        raise PreconditionFailed(
            f"The record changed since you read it (current ETag {etag_of(obj)}); GET it again and retry.",
            current_etag=etag_of(obj),
        )


class ResourceReads:
    """A resource's two reads, one function each: its /v1 routes answer with them and the status board
    (services/api/board) renders them, so both read the same rows through the same service."""

    def __init__(self, service: type[CrudService[Any]], render: Callable[[Any], BaseModel]) -> None:
        self.service = service
        self.render = render

    async def get(self, db: Any, id: uuid.UUID) -> tuple[Any, BaseModel]:
        """The record (for its ETag) and its response body; NotFound (404) when there is none."""
        obj = await self.service(db).get(id)
        return obj, self.render(obj)

    async def list(self, db: Any, params: Any) -> dict[str, Any]:
        """One page under the resource's filters (`params`: its filters model)."""
        svc = self.service(db)
        rows, cursor = await svc.repo.list(
            svc.conditions(params), sort=params.sort, cursor=params.cursor, limit=params.limit
        )
        return {"items": [self.render(row) for row in rows], "next_cursor": cursor}


def register_crud(
    router: APIRouter,
    *,
    name: str,
    singular: str,
    service: type[CrudService[Any]],
    create_model: type[BaseModel],
    update_model: type[BaseModel],
    out_model: type[BaseModel],
    filters_model: type[BaseModel],
    to_out: Callable[[Any], BaseModel] | None = None,
    after_create: Callable[..., Any] | None = None,
    with_list: bool = True,
    check_write: Callable[..., Any] | None = None,
    check_delete: Callable[..., Any] | None = None,
    reads_class: type[ResourceReads] = ResourceReads,
) -> ResourceReads:
    """Registers the operations and returns the resource's reads (for the status board).

    `check_write(principal, db, changes, current)` and `check_delete(principal, db, obj)` add a resource's own
    rules (admin-only fields, say) to the ownership rule every write passes (shared/auth/ownership.py)."""
    render = to_out or out_model.model_validate
    reads = reads_class(service, render)
    id_description = id_param(singular)
    page_model = page_of(out_model)

    if with_list:
        _register_list(router, name, reads, page_model, filters_model)

    @router.get(
        "/{id}",
        operation_id=f"{name}-get",
        response_model=out_model,
        summary=f"Get a {singular}",
        responses={**ok(f"The {singular}", "ETag"), **problem_responses(401, 403, 404, 422)},
    )
    async def get(id: Annotated[uuid.UUID, id_description], db: ReadDb, _: Reader, response: Response) -> Any:
        obj, out = await reads.get(db, id)
        response.headers["ETag"] = etag_of(obj)
        return out

    get.__doc__ = f"One {singular}, with its ETag for conditional writes."

    @router.post(
        "",
        operation_id=f"{name}-create",
        response_model=out_model,
        status_code=201,
        summary=f"Create a {singular}",
        responses={
            **ok(f"The {singular}, created (or the replayed first response)", "Location", "ETag", status=201),
            **problem_responses(400, 401, 403, 409, 422),
        },
    )
    # `idem` comes first so that it is set up before, and torn down after, the write session: a failed
    # request releases its key only once its own transaction has rolled back.
    async def create(
        idem: OptionalIdempotent,
        body: create_model,  # type: ignore[valid-type]  # the resource's model, built at run time
        db: WriteDb,
        principal: Writer,
        request: Request,
    ) -> Any:
        values = body.model_dump()  # type: ignore[attr-defined]
        if check_write is not None:
            await check_write(principal, db, values, {})
        await ensure_may_write(principal, db, name, singular, values)
        actor = actor_of(request, principal)
        obj = await service(db).create(values, actor)
        if after_create is not None:
            await after_create(db, obj)
        stored_values = values_of(obj)
        await record(
            db,
            actor,
            f"{name}.create",
            name,
            [obj.id],
            detail={"new": jsonable(stored_values)},
            commitment_id=await commitment_of(db, name, stored_values),
        )
        # Stored with the record in the same transaction when an Idempotency-Key was sent.
        stored = await idem.respond(
            db, 201, render(obj), location=f"{request.url.path}/{obj.id}", resource_id=obj.id
        )
        stored.headers["ETag"] = etag_of(obj)
        return stored

    create.__doc__ = (
        f"Create a {singular}. Send an Idempotency-Key to retry safely (the first response is "
        "replayed); a duplicate natural key is a 409 naming the existing record."
    )

    @router.patch(
        "/{id}",
        operation_id=f"{name}-update",
        response_model=out_model,
        summary=f"Update a {singular}",
        responses={
            **ok(f"The {singular}, updated", "ETag"),
            **problem_responses(400, 401, 403, 404, 409, 412, 422),
        },
    )
    async def update(
        id: Annotated[uuid.UUID, id_description],
        body: update_model,  # type: ignore[valid-type]  # the resource's model, built at run time
        db: WriteDb,
        principal: Writer,
        response: Response,
        request: Request,
        if_match: IfMatch = None,
    ) -> Any:
        svc = service(db)
        obj = await svc.get(id)
        check_if_match(obj, if_match)
        changes, current = body.model_dump(exclude_unset=True), values_of(obj)  # type: ignore[attr-defined]
        if check_write is not None:
            await check_write(principal, db, changes, current)
        await ensure_may_write(principal, db, name, singular, current, {**current, **changes})
        actor = actor_of(request, principal)
        obj = await svc.update(obj, changes, actor)
        stored_values = values_of(obj)
        await record(
            db,
            actor,
            f"{name}.update",
            name,
            [obj.id],
            detail=changed(current, stored_values),
            commitment_id=await commitment_of(db, name, stored_values),
        )
        response.headers["ETag"] = etag_of(obj)
        return render(obj)

    update.__doc__ = f"Change fields of a {singular} (JSON merge semantics: only the fields sent change)."

    @router.delete(
        "/{id}",
        operation_id=f"{name}-delete",
        status_code=204,
        response_class=Response,
        summary=f"Delete a {singular}",
        responses={**ok("Deleted", status=204), **problem_responses(401, 403, 404, 409, 412)},
    )
    async def delete(
        id: Annotated[uuid.UUID, id_description],
        db: WriteDb,
        principal: Writer,
        request: Request,
        if_match: IfMatch = None,
    ) -> Response:
        svc = service(db)
        obj = await svc.get(id)
        check_if_match(obj, if_match)
        await ensure_may_write(principal, db, name, singular, values_of(obj))
        if check_delete is not None:
            await check_delete(principal, db, obj)
        old = values_of(obj)
        commitment_id = await commitment_of(db, name, old)  # before the delete, while its parents exist
        await svc.delete(obj)
        await record(
            db,
            actor_of(request, principal),
            f"{name}.delete",
            name,
            [id],
            detail={"old": jsonable(old)},
            commitment_id=commitment_id,
        )
        return Response(status_code=204)

    delete.__doc__ = f"Delete a {singular} (and what belongs only to it)."
    return reads


def _register_list(
    router: APIRouter, name: str, reads: ResourceReads, page_model: Any, filters_model: Any
) -> None:
    @router.get(
        "",
        operation_id=f"{name}-list",
        response_model=page_model,
        summary=f"List {name}",
        responses={**ok(f"One page of {name}"), **problem_responses(400, 401, 403, 422)},
    )
    async def list_(
        db: ReadDb,
        _: Reader,
        params: Annotated[
            filters_model, Depends(QueryModel(filters_model, reads.service.repository_class.sorting))
        ],
    ) -> Any:
        return await reads.list(db, params)

    list_.__doc__ = f"List {name}, filtered and sorted, one page at a time."
