"""What generated clients tripped over (issue 12): null on PATCH, dates as numbers, 405s, 500s without an id."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager
from fastapi.routing import APIRoute
from pydantic import ValidationError

from services.api.app import create_app
from services.api.openapi import PROBLEM_JSON
from tests.factories import create_commitment, create_party, create_theme, post_signal, signal


def _problem(r: httpx.Response, status: int) -> dict[str, Any]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == PROBLEM_JSON
    return r.json()


def _nullable(schema: dict[str, Any]) -> bool:
    return schema.get("type") == "null" or any(_nullable(s) for s in schema.get("anyOf", []))


async def test_patch_bodies_document_null_exactly_where_it_is_accepted(
    app: Any, client: httpx.AsyncClient
) -> None:
    spec = (await client.get("/openapi.json")).json()
    schemas = spec["components"]["schemas"]
    checked = 0
    for route in app.state.api_routes:
        if not isinstance(route, APIRoute) or "PATCH" not in route.methods:
            continue
        model = route.body_field.field_info.annotation
        props = schemas[model.__name__]["properties"]
        for name, prop in props.items():
            try:
                model.model_validate({name: None})
                accepts = True
            except ValidationError as exc:
                assert exc.errors()[0]["loc"] == (name,), exc.errors()  # a field error, not a model error
                accepts = False
            assert _nullable(prop) == accepts, (model.__name__, name, prop)
            assert not (prop.get("default", 0) is None and not accepts), (model.__name__, name)
            checked += 1
    assert checked > 40


async def test_null_for_a_required_field_is_a_field_error(
    client: httpx.AsyncClient, writer: dict, admin: dict, themes: None, make_key: Any
) -> None:
    commitment = await create_commitment(client, writer, themes=["bejegening"])
    url = f"/v1/commitments/{commitment['id']}"
    for field in ("title", "origin", "themes"):
        problem = _problem(await client.patch(url, json={field: None}, headers=writer), 422)
        assert problem["errors"][0]["loc"] == ["body", field]
    assert (await client.get(url)).json()["title"] == commitment["title"]
    # Fields that can be cleared still can.
    r = await client.patch(url, json={"description": None, "due_date": None}, headers=writer)
    assert r.status_code == 200, r.text
    party = await create_party(client, writer)
    assert _problem(
        await client.patch(f"/v1/parties/{party['id']}", json={"name": None}, headers=writer), 422
    )["errors"][0]["loc"] == ["body", "name"]
    await create_theme(client, admin, "wonen")
    assert _problem(await client.patch("/v1/themes/wonen", json={"label_nl": None}, headers=admin), 422)[
        "errors"
    ][0]["loc"] == ["body", "label_nl"]
    created = (await post_signal(client, await make_key(["signals:write"]), signal())).json()
    staff = await make_key(["signals:read", "signals:write"])
    problem = _problem(
        await client.patch(f"/v1/signals/{created['id']}", json={"status": None}, headers=staff), 422
    )
    assert problem["errors"][0]["loc"] == ["body", "status"]


async def test_dates_are_never_numbers(client: httpx.AsyncClient, writer: dict) -> None:
    commitment = await create_commitment(client, writer)
    for url in (
        "/v1/signals/stats?to=0",
        "/v1/signals/trends?until=1700000000",
        f"/v1/commitments/{commitment['id']}/status?as_of=0",
        f"/v1/commitments/{commitment['id']}/fulfilment?period=0",
    ):
        problem = _problem(await client.get(url, headers=writer), 422)
        assert problem["errors"][0]["type"] == "date_format", url
    assert (
        await client.get(f"/v1/commitments/{commitment['id']}/status?as_of=2026-03-01")
    ).status_code == 200


async def test_405_allows_every_method_of_the_path(client: httpx.AsyncClient, writer: dict) -> None:
    r = await client.options("/v1/commitments")
    _problem(r, 405)
    assert set(r.headers["allow"].split(", ")) == {"GET", "POST"}
    commitment = await create_commitment(client, writer)
    r = await client.put(f"/v1/commitments/{commitment['id']}", json={}, headers=writer)
    _problem(r, 405)
    assert set(r.headers["allow"].split(", ")) == {"GET", "PATCH", "DELETE"}
    # "batches" is not a signal id: PATCH on the batch upload path is a 405, not a 422 about a UUID.
    r = await client.patch("/v1/signals/batches", json={}, headers=writer)
    assert _problem(r, 405)["type"].endswith("/method-not-allowed")
    assert r.headers["allow"] == "POST"


async def test_anonymous_broken_json_is_401_on_every_write(client: httpx.AsyncClient, writer: dict) -> None:
    commitment = await create_commitment(client, writer)
    broken = {"content-type": "application/json"}
    for method, url in (
        ("POST", "/v1/parties"),
        ("PATCH", f"/v1/commitments/{commitment['id']}"),
        ("PUT", f"/v1/commitments/{commitment['id']}/fulfilment"),
        ("POST", "/v1/signals"),
    ):
        _problem(await client.request(method, url, content=b"{nope", headers=broken), 401)
        r = await client.request(method, url, content=b"{nope", headers={**broken, **writer})
        if r.status_code != 403:  # the writer key has no signal scope
            assert _problem(r, 400)["type"].endswith("/malformed-json")


@pytest.mark.parametrize("path", ["/boom"])
async def test_a_500_carries_the_request_id(
    settings: Any, connection: Any, session_factory: Any, queue: Any, path: str
) -> None:
    app = create_app(settings, engine=connection.engine, session_factory=session_factory, queue=queue)

    async def boom() -> None:
        raise RuntimeError("a bug")

    app.add_api_route(path, boom)
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with LifespanManager(app), httpx.AsyncClient(transport=transport, base_url="http://t") as c:
        r = await c.get(path, headers={"X-Request-ID": "trace-500"})
        problem = _problem(r, 500)
        assert r.headers.get_list("x-request-id") == ["trace-500"]
        assert problem["request_id"] == "trace-500"
        r = await c.get("/v1/nothing")  # a handled error: still exactly one id
        assert len(r.headers.get_list("x-request-id")) == 1
