"""Every write endpoint × every kind of caller, with the expected status in one table.

The endpoints are enumerated from the app's routes: a new write route without a row here fails
`test_every_write_route_has_a_row`. Callers are a dict of name -> headers factory, so another kind of principal
(an OAuth2 token for each of these, say) is one more entry in PRINCIPALS and one more column per row.
Each call gets fresh records (a delete that succeeds for one caller must not turn the next caller's answer into
a 404), and each answer that succeeds must leave at least one audit entry.
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from services.api import board
from shared.audit.models import AuditEntry
from tests.factories import (
    create,
    create_action,
    create_commitment,
    create_milestone,
    create_party,
    create_theme,
    signal,
)

WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
# Routes that write nothing stored: the status board's key form only sets or clears a cookie in the browser.
# The token endpoint authenticates OAuth2 clients by their own credentials, not by a key (tests/api/test_oauth.py).
NOT_DATA_WRITES = {("POST", "/board/key"), ("POST", "/board/key/forget"), ("POST", "/v1/oauth/token")}


@dataclass
class World:
    """Records every call may build on (owned by Fokus; VWS is the other party), made with the admin key."""

    client: httpx.AsyncClient
    admin: dict[str, str]
    fokus: dict[str, Any]
    vws: dict[str, Any]
    counter: itertools.count
    fokus_key: dict[str, str]  # a write key bound to Fokus: what a party's own webhook is made with

    def unique(self) -> int:
        return next(self.counter)

    async def commitment(self, **body: Any) -> dict[str, Any]:
        return await create_commitment(self.client, self.admin, owner_party_id=self.fokus["id"], **body)

    async def milestone(self) -> dict[str, Any]:
        return await create_milestone(self.client, self.admin, (await self.commitment())["id"])

    async def fulfilled(self, **body: Any) -> dict[str, Any]:
        made = await self.commitment(**body)
        r = await self.client.put(f"/v1/commitments/{made['id']}/fulfilment", json=CLAIM, headers=self.admin)
        assert r.status_code == 201, r.text
        return made

    async def webhook(self) -> dict[str, Any]:
        """A webhook of Fokus's (a party's keys manage only their own party's webhooks)."""
        r = await self.client.post("/v1/webhooks", json={"url": WEBHOOK_URL}, headers=self.fokus_key)
        assert r.status_code == 201, r.text
        return r.json()

    async def test_delivery(self) -> tuple[str, str]:
        hook = await self.webhook()
        r = await self.client.post(f"/v1/webhooks/{hook['id']}/test", headers=self.fokus_key)
        assert r.status_code == 202, r.text
        return hook["id"], r.json()["id"]

    async def signal(self) -> dict[str, Any]:
        r = await self.client.post(
            "/v1/signals", json=signal(), headers={**self.admin, "Idempotency-Key": uuid.uuid4().hex}
        )
        assert r.status_code == 201, r.text
        return r.json()


HeadersFactory = Callable[[Any, World], Awaitable[dict[str, str]]]


def key_of(scopes: list[str], party: str | None = None) -> HeadersFactory:
    async def make(make_key: Any, world: World) -> dict[str, str]:
        return await make_key(scopes, uuid.UUID(getattr(world, party)["id"]) if party else None)

    return make


async def _no_key(make_key: Any, world: World) -> dict[str, str]:
    return {}


async def _admin(make_key: Any, world: World) -> dict[str, str]:
    return await make_key(["admin"])


PRINCIPALS: dict[str, HeadersFactory] = {
    "anonymous": _no_key,
    "read": key_of(["read"]),
    "owner": key_of(["read", "write"], "fokus"),  # bound to the party that owns the records
    "other": key_of(["read", "write"], "vws"),
    "staff": key_of(["read", "write"]),  # an unbound write key
    "admin": _admin,
}

CLAIM = {
    "kind": "fulfilled",
    "date": "2026-01-02",
    "summary": "Gedaan",
    "evidence": [{"url": "https://www.fokus.nl/a"}],
}
OVERRIDE = {"status": "at_risk", "reason": "Vertraagd", "expires_at": "2030-01-31T00:00:00Z"}
NDJSON = {"content-type": "application/x-ndjson"}
WEBHOOK_URL = "https://zorgkantoor.example.nl/hooks/nakoming"  # checked when saved, resolved only to deliver

Send = Callable[[World, dict[str, str]], Awaitable[httpx.Response]]


def owned(ok: int) -> dict[str, int]:
    """What the owning party may change (and staff and admin), nobody else."""
    return {"anonymous": 401, "read": 403, "owner": ok, "other": 403, "staff": ok, "admin": ok}


def staff(ok: int) -> dict[str, int]:
    """Kept by staff: parties, sources, recommendations."""
    return {"anonymous": 401, "read": 403, "owner": 403, "other": 403, "staff": ok, "admin": ok}


def own_party(ok: int) -> dict[str, int]:
    """Webhooks: every write key keeps its own party's (unbound keys: staff, all); another party's is absent."""
    return {"anonymous": 401, "read": 403, "owner": ok, "other": 404, "staff": ok, "admin": ok}


def admin_only(ok: int) -> dict[str, int]:
    return {"anonymous": 401, "read": 403, "owner": 403, "other": 403, "staff": 403, "admin": ok}


async def _patch_party(w: World, h: dict) -> httpx.Response:
    party = await create_party(w.client, w.admin, name=f"Partij {w.unique()}")
    return await w.client.patch(
        f"/v1/parties/{party['id']}", json={"name": f"Partij {w.unique()}"}, headers=h
    )


async def _delete_party(w: World, h: dict) -> httpx.Response:
    party = await create_party(w.client, w.admin, name=f"Partij {w.unique()}")
    return await w.client.delete(f"/v1/parties/{party['id']}", headers=h)


async def _source(w: World) -> dict[str, Any]:
    return await create(w.client, "/v1/sources", w.admin, title=f"Bron {w.unique()}", kind="letter")


async def _recommendation(w: World) -> dict[str, Any]:
    return await create(
        w.client, "/v1/recommendations", w.admin, title=f"Aanbeveling {w.unique()}", text="Doe het"
    )


async def _action(w: World) -> dict[str, Any]:
    return await create_action(w.client, w.admin, (await w.commitment())["id"])


async def _measured(w: World) -> tuple[str, str]:
    milestone = await w.milestone()
    r = await w.client.post(
        f"/v1/milestones/{milestone['id']}/measurements",
        json={"date": "2026-01-01", "value": 1},
        headers=w.admin,
    )
    return milestone["id"], r.json()["id"]


async def _delete_measurement(w: World, h: dict) -> httpx.Response:
    milestone_id, measurement_id = await _measured(w)
    return await w.client.delete(f"/v1/milestones/{milestone_id}/measurements/{measurement_id}", headers=h)


async def _delete_override(w: World, h: dict) -> httpx.Response:
    made = await w.commitment()
    assert (
        await w.client.put(f"/v1/commitments/{made['id']}/status-override", json=OVERRIDE, headers=w.admin)
    ).status_code == 200
    return await w.client.delete(f"/v1/commitments/{made['id']}/status-override", headers=h)


async def _review(w: World, h: dict) -> httpx.Response:
    made = await w.fulfilled(made_to_party_id=w.vws["id"])
    return await w.client.post(
        f"/v1/commitments/{made['id']}/fulfilment/review", json={"decision": "accepted"}, headers=h
    )


# (method, path) -> (the request, with fresh records; the expected status per caller)
MATRIX: dict[tuple[str, str], tuple[Send, dict[str, int]]] = {
    ("POST", "/v1/commitments"): (
        lambda w, h: w.client.post(
            "/v1/commitments", json={"title": "Nieuw", "owner_party_id": w.fokus["id"]}, headers=h
        ),
        owned(201),
    ),
    ("PATCH", "/v1/commitments/{id}"): (
        lambda w, h: _then(
            w.commitment(),
            lambda c: w.client.patch(f"/v1/commitments/{c['id']}", json={"title": "Anders"}, headers=h),
        ),
        owned(200),
    ),
    ("DELETE", "/v1/commitments/{id}"): (
        lambda w, h: _then(
            w.commitment(), lambda c: w.client.delete(f"/v1/commitments/{c['id']}", headers=h)
        ),
        owned(204),
    ),
    # Derived data only (the rules' verdict, as a worker stores it anyway): any write key may ask for it now.
    ("POST", "/v1/commitments/{id}/recalculate"): (
        lambda w, h: _then(
            w.commitment(), lambda c: w.client.post(f"/v1/commitments/{c['id']}/recalculate", headers=h)
        ),
        {"anonymous": 401, "read": 403, "owner": 200, "other": 200, "staff": 200, "admin": 200},
    ),
    ("PUT", "/v1/commitments/{id}/status-override"): (
        lambda w, h: _then(
            w.commitment(),
            lambda c: w.client.put(f"/v1/commitments/{c['id']}/status-override", json=OVERRIDE, headers=h),
        ),
        admin_only(200),
    ),
    ("DELETE", "/v1/commitments/{id}/status-override"): (_delete_override, admin_only(200)),
    ("PUT", "/v1/commitments/{id}/fulfilment"): (
        lambda w, h: _then(
            w.commitment(),
            lambda c: w.client.put(f"/v1/commitments/{c['id']}/fulfilment", json=CLAIM, headers=h),
        ),
        owned(201),
    ),
    ("DELETE", "/v1/commitments/{id}/fulfilment"): (
        lambda w, h: _then(
            w.fulfilled(), lambda c: w.client.delete(f"/v1/commitments/{c['id']}/fulfilment", headers=h)
        ),
        owned(204),
    ),
    # The party the commitment was made to (VWS, "other" here) reviews it, not its owner nor staff.
    ("POST", "/v1/commitments/{id}/fulfilment/review"): (
        _review,
        {"anonymous": 401, "read": 403, "owner": 403, "other": 200, "staff": 403, "admin": 200},
    ),
    ("POST", "/v1/actions"): (
        lambda w, h: _then(
            w.commitment(),
            lambda c: w.client.post(
                "/v1/actions", json={"commitment_id": c["id"], "title": "Actie"}, headers=h
            ),
        ),
        owned(201),
    ),
    ("PATCH", "/v1/actions/{id}"): (
        lambda w, h: _then(
            _action(w), lambda a: w.client.patch(f"/v1/actions/{a['id']}", json={"state": "done"}, headers=h)
        ),
        owned(200),
    ),
    ("DELETE", "/v1/actions/{id}"): (
        lambda w, h: _then(_action(w), lambda a: w.client.delete(f"/v1/actions/{a['id']}", headers=h)),
        owned(204),
    ),
    ("POST", "/v1/milestones"): (
        lambda w, h: _then(
            w.commitment(),
            lambda c: w.client.post(
                "/v1/milestones",
                json={"commitment_id": c["id"], "title": "Mijlpaal", "due_date": "2026-07-01"},
                headers=h,
            ),
        ),
        owned(201),
    ),
    ("PATCH", "/v1/milestones/{id}"): (
        lambda w, h: _then(
            w.milestone(),
            lambda m: w.client.patch(f"/v1/milestones/{m['id']}", json={"title": "M"}, headers=h),
        ),
        owned(200),
    ),
    ("DELETE", "/v1/milestones/{id}"): (
        lambda w, h: _then(w.milestone(), lambda m: w.client.delete(f"/v1/milestones/{m['id']}", headers=h)),
        owned(204),
    ),
    ("POST", "/v1/milestones/{id}/measurements"): (
        lambda w, h: _then(
            w.milestone(),
            lambda m: w.client.post(
                f"/v1/milestones/{m['id']}/measurements", json={"date": "2026-01-01", "value": 3}, headers=h
            ),
        ),
        owned(201),
    ),
    ("DELETE", "/v1/milestones/{id}/measurements/{measurement_id}"): (_delete_measurement, owned(204)),
    ("POST", "/v1/recommendations"): (
        lambda w, h: w.client.post(
            "/v1/recommendations", json={"title": "Aanbeveling", "text": "Doe het"}, headers=h
        ),
        staff(201),
    ),
    ("PATCH", "/v1/recommendations/{id}"): (
        lambda w, h: _then(
            _recommendation(w),
            lambda r: w.client.patch(f"/v1/recommendations/{r['id']}", json={"title": "Anders"}, headers=h),
        ),
        staff(200),
    ),
    ("DELETE", "/v1/recommendations/{id}"): (
        lambda w, h: _then(
            _recommendation(w), lambda r: w.client.delete(f"/v1/recommendations/{r['id']}", headers=h)
        ),
        staff(204),
    ),
    ("POST", "/v1/parties"): (
        lambda w, h: w.client.post(
            "/v1/parties", json={"name": f"Partij {w.unique()}", "kind": "provider"}, headers=h
        ),
        staff(201),
    ),
    ("PATCH", "/v1/parties/{id}"): (_patch_party, staff(200)),
    ("DELETE", "/v1/parties/{id}"): (_delete_party, staff(204)),
    ("POST", "/v1/sources"): (
        lambda w, h: w.client.post(
            "/v1/sources", json={"title": f"Bron {w.unique()}", "kind": "letter"}, headers=h
        ),
        staff(201),
    ),
    ("PATCH", "/v1/sources/{id}"): (
        lambda w, h: _then(
            _source(w),
            lambda s: w.client.patch(f"/v1/sources/{s['id']}", json={"title": "Anders"}, headers=h),
        ),
        staff(200),
    ),
    ("DELETE", "/v1/sources/{id}"): (
        lambda w, h: _then(_source(w), lambda s: w.client.delete(f"/v1/sources/{s['id']}", headers=h)),
        staff(204),
    ),
    ("POST", "/v1/themes"): (
        lambda w, h: w.client.post(
            "/v1/themes", json={"key": f"thema-{w.unique()}", "label_nl": "t", "label_en": "t"}, headers=h
        ),
        admin_only(201),
    ),
    ("PATCH", "/v1/themes/{key}"): (
        lambda w, h: _then(
            create_theme(w.client, w.admin, f"thema-{w.unique()}"),
            lambda t: w.client.patch(f"/v1/themes/{t['key']}", json={"label_en": "other"}, headers=h),
        ),
        admin_only(200),
    ),
    ("POST", "/v1/sync/runs"): (
        lambda w, h: w.client.post("/v1/sync/runs", json={"categories": ["Toezegging"]}, headers=h),
        admin_only(202),
    ),
    # Client signals need the signals:write scope, which no plain write key has (the admin key has every scope).
    ("POST", "/v1/signals"): (
        lambda w, h: w.client.post(
            "/v1/signals", json=signal(), headers={**h, "Idempotency-Key": uuid.uuid4().hex}
        ),
        admin_only(201),
    ),
    ("POST", "/v1/signals/batches"): (
        lambda w, h: w.client.post("/v1/signals/batches", content=b'{"x": 1}\n', headers={**h, **NDJSON}),
        admin_only(202),
    ),
    ("PATCH", "/v1/signals/{signal_id:uuid}"): (
        lambda w, h: _then(
            w.signal(),
            lambda s: w.client.patch(f"/v1/signals/{s['id']}", json={"status": "in_behandeling"}, headers=h),
        ),
        admin_only(200),
    ),
    ("POST", "/v1/webhooks"): (
        lambda w, h: w.client.post("/v1/webhooks", json={"url": WEBHOOK_URL}, headers=h),
        {"anonymous": 401, "read": 403, "owner": 201, "other": 201, "staff": 201, "admin": 201},
    ),
    ("PATCH", "/v1/webhooks/{id}"): (
        lambda w, h: _then(
            w.webhook(),
            lambda k: w.client.patch(f"/v1/webhooks/{k['id']}", json={"enabled": False}, headers=h),
        ),
        own_party(200),
    ),
    ("DELETE", "/v1/webhooks/{id}"): (
        lambda w, h: _then(w.webhook(), lambda k: w.client.delete(f"/v1/webhooks/{k['id']}", headers=h)),
        own_party(204),
    ),
    ("POST", "/v1/webhooks/{id}/test"): (
        lambda w, h: _then(w.webhook(), lambda k: w.client.post(f"/v1/webhooks/{k['id']}/test", headers=h)),
        own_party(202),
    ),
    ("POST", "/v1/webhooks/{id}/deliveries/{delivery_id}/redeliver"): (
        lambda w, h: _then(
            w.test_delivery(),
            lambda d: w.client.post(f"/v1/webhooks/{d[0]}/deliveries/{d[1]}/redeliver", headers=h),
        ),
        own_party(202),
    ),
}


async def _then(made: Awaitable[Any], send: Callable[[Any], Awaitable[httpx.Response]]) -> httpx.Response:
    return await send(await made)


def write_routes(app: Any) -> set[tuple[str, str]]:
    routes = list(app.state.api_routes) + list(board.router.routes)
    return {
        (method, route.path)
        for route in routes
        for method in (getattr(route, "methods", None) or set()) & WRITE_METHODS
    }


async def test_every_write_route_has_a_row(app: Any) -> None:
    routes = write_routes(app)
    assert routes - NOT_DATA_WRITES - set(MATRIX) == set(), "a write route without a row in MATRIX"
    assert set(MATRIX) - routes == set(), "a row for a route that no longer exists"
    assert routes >= NOT_DATA_WRITES


@pytest.fixture
async def world(client: httpx.AsyncClient, admin: dict, make_key: Any) -> World:
    for key in ("bejegening", "sociale-veiligheid", "continuiteit-bezetting"):
        await create_theme(client, admin, key)
    fokus = await create_party(client, admin, name="Stichting Fokus Wonen", kind="provider")
    vws = await create_party(client, admin, name="Ministerie van VWS", kind="ministry")
    fokus_key = await make_key(["read", "write"], uuid.UUID(fokus["id"]))
    return World(client, admin, fokus, vws, itertools.count(), fokus_key)


async def _audit_count(session_factory: Any) -> int:
    async with session_factory() as s:
        return (await s.execute(select(func.count()).select_from(AuditEntry))).scalar_one()


@pytest.mark.parametrize("credential", ["api_key", "oauth2_token"])
@pytest.mark.parametrize("route", sorted(MATRIX), ids=lambda r: f"{r[0]} {r[1]}")
async def test_write_matrix(
    route: tuple[str, str],
    credential: str,
    world: World,
    make_key: Any,
    make_token: Any,
    session_factory: Any,
) -> None:
    """Each kind of caller, once with an API key and once with an OAuth2 access token of the same scopes and
    party (client credentials): the same answer either way."""
    send, expected = MATRIX[route]
    assert set(expected) == set(PRINCIPALS), "every row names every kind of caller"
    make = make_key if credential == "api_key" else make_token
    answers = {}
    for caller, headers_of in PRINCIPALS.items():
        headers = await headers_of(make, world)
        audited = await _audit_count(session_factory)
        r = await send(world, headers)
        answers[caller] = r.status_code
        if r.status_code >= 400:
            assert r.headers["content-type"] == "application/problem+json", (caller, r.text)
        else:
            assert await _audit_count(session_factory) > audited, f"{route} by {caller} left no audit entry"
    assert answers == expected
