"""Query-string models without FastAPI's per-request parameter walk.

`Annotated[Model, Query()]` makes FastAPI re-inspect every field's annotation on every request (about a
third of the CPU of a cheap list request, bench/api). `QueryModel(Model)` validates the query string with
the model's compiled pydantic validator instead, and `document_query_models` puts the same parameters into
the OpenAPI document, so clients see no difference. Errors are the usual 422 problem with `query.<name>`
locations; unknown parameters are still refused (the models forbid extra fields).
"""

from __future__ import annotations

import typing
from collections.abc import Callable
from typing import Any, Literal

from fastapi import APIRouter, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from pydantic import BaseModel, Field, ValidationError, create_model

from shared.pagination import Sorting

_MARK = "__query_model__"
# A dependency that reads a header itself (no FastAPI parameter walk) can list OpenAPI parameters here.
OPENAPI_PARAMETERS = "__openapi_parameters__"


def _is_list(annotation: Any) -> bool:
    origin = typing.get_origin(annotation)
    if origin in (list, tuple, set, frozenset):
        return True
    return any(_is_list(arg) for arg in typing.get_args(annotation)) if origin is not None else False


def sortable(model: type[BaseModel], sorting: Sorting) -> type[BaseModel]:
    """`model` with `sort` as an enum of `sorting`'s fields (each also with '-' for descending), so the OpenAPI
    document lists them and a value outside them is a 422 naming `query.sort`."""
    values = tuple(v for name in sorting.fields for v in (name, f"-{name}"))
    description = (
        f"Sort field; prefix '-' for descending (default `{sorting.default}`). Keep the same sort "
        "while paging."
    )
    sort_type: Any = Literal[values] | None  # an enum built at run time; no static type to give it
    return create_model(
        model.__name__, __base__=model, sort=(sort_type, Field(default=None, description=description))
    )


def QueryModel(model: type[BaseModel], sorting: Sorting | None = None) -> Callable[[Request], Any]:
    """A dependency that returns `model` validated from the query string (reads like Query()). A model with a
    `sort` parameter needs the `sorting` it is applied with: its fields become the documented enum."""
    if "sort" in model.model_fields:
        if sorting is None:
            raise TypeError(f"QueryModel({model.__name__}) has `sort`: pass the Sorting it is applied with")
        model = sortable(model, sorting)
    multi = frozenset(name for name, field in model.model_fields.items() if _is_list(field.annotation))
    validate = model.model_validate

    async def dependency(request: Request) -> Any:
        params = request.query_params
        data: dict[str, Any] = {key: params.getlist(key) if key in multi else params[key] for key in params}
        try:
            return validate(data)
        except ValidationError as exc:
            raise RequestValidationError(
                [{**error, "loc": ("query", *error["loc"])} for error in exc.errors(include_url=False)]
            ) from None

    setattr(dependency, _MARK, model)
    return dependency


def _parameters(model: type[BaseModel], schemas: dict[str, Any]) -> list[dict[str, Any]]:
    schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
    for name, definition in schema.get("$defs", {}).items():
        schemas.setdefault(name, definition)
    required = set(schema.get("required", []))
    out = []
    for name, prop in schema.get("properties", {}).items():
        param: dict[str, Any] = {"name": name, "in": "query", "required": name in required, "schema": prop}
        # An optional field's description may sit on its type (`AgbCode | None`), inside anyOf.
        described = [prop, *prop.get("anyOf", [])]
        description = next((p["description"] for p in described if p.get("description")), None)
        if description:
            param["description"] = description
        out.append(param)
    return out


def document_query_models(app: FastAPI, routers: list[APIRouter]) -> None:
    """Wrap app.openapi so every QueryModel dependency of `routers` shows up as ordinary query parameters,
    and the parameters other dependencies list under OPENAPI_PARAMETERS (headers they read) as well."""
    base = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        spec = base()
        schemas = spec.setdefault("components", {}).setdefault("schemas", {})
        for route in (r for router in routers for r in router.routes):
            if not isinstance(route, APIRoute):
                continue
            calls = [dep.call for dep in route.dependant.dependencies]
            extra = [p for m in calls if hasattr(m, _MARK) for p in _parameters(getattr(m, _MARK), schemas)]
            extra += [p for c in calls for p in getattr(c, OPENAPI_PARAMETERS, ())]
            if not extra:
                continue
            for method in route.methods or ():
                operation = spec["paths"][route.path_format][method.lower()]
                params = operation.setdefault("parameters", [])
                known = {(p["name"], p["in"]) for p in params}
                params.extend(p for p in extra if (p["name"], p["in"]) not in known)
        app.openapi_schema = spec
        return spec

    app.openapi = openapi  # type: ignore[method-assign]
