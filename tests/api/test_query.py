"""Query-string models (services/api/query.py): validation, errors and the OpenAPI document."""

from __future__ import annotations

from typing import Annotated

import httpx
import pytest
from fastapi import Depends, FastAPI
from fastapi.routing import APIRouter
from pydantic import Field

from services.api.errors import install_error_handlers
from services.api.query import QueryModel, document_query_models
from shared.schemas import ListParams
from shared.themes.repository import ThemeRepository


class Params(ListParams):
    tag: list[str] = Field(default_factory=list, description="Repeat to match any of several tags.")
    since: int | None = None


def _app() -> FastAPI:
    router = APIRouter(prefix="/things")

    @router.get("", operation_id="things-list")
    async def things(params: Annotated[Params, Depends(QueryModel(Params, ThemeRepository.sorting))]) -> dict:
        return params.model_dump()

    app = FastAPI()
    install_error_handlers(app)
    app.include_router(router)
    document_query_models(app, [router])
    return app


async def test_query_model_validates_repeats_and_refuses_unknown_parameters() -> None:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=_app()), base_url="http://t") as c:
        ok = (await c.get("/things", params=[("tag", "a"), ("tag", "b"), ("limit", "3")])).json()
        assert ok["tag"] == ["a", "b"] and ok["limit"] == 3 and ok["since"] is None
        bad = await c.get("/things", params={"limit": "0", "nope": "1"})
        assert bad.status_code == 422
        assert bad.headers["content-type"] == "application/problem+json"
        locs = {tuple(e["loc"]) for e in bad.json()["errors"]}
        assert locs == {("query", "limit"), ("query", "nope")}


async def test_query_model_parameters_are_in_openapi() -> None:
    spec = _app().openapi()
    params = {p["name"]: p for p in spec["paths"]["/things"]["get"]["parameters"]}
    assert set(params) == {"limit", "cursor", "sort", "tag", "since"}
    assert all(p["in"] == "query" and p["required"] is False for p in params.values())
    assert params["limit"]["schema"]["maximum"] == 500
    assert params["tag"]["description"].startswith("Repeat")
    assert params["sort"]["schema"]["anyOf"][0]["enum"] == [
        "key",
        "-key",
    ]  # from the Sorting the list is applied with


def test_a_sort_without_its_sorting_is_refused() -> None:
    with pytest.raises(TypeError, match="Sorting"):
        QueryModel(Params)
