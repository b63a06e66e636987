"""People behind front-ends: access tokens of an external OIDC issuer (NAKOMING_OIDC_ISSUERS). The issuer's JWKS is
served over real HTTP by a small server in this test; its keys are fetched, kept, and fetched again (rate limited)
when a token names a key id not among them."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest
from joserfc import jwt
from joserfc.jwk import KeySet, RSAKey

from shared.auth.oidc import JwksCache
from shared.parties.models import Party
from shared.settings import OidcIssuer, Settings

ISSUER = "https://login.zorgkantoor.example"
AUDIENCE = "nakoming-screens"
PARTY = uuid.UUID("0b7a3c52-2f7e-4f55-9a57-6d3a31c1f001")


class IdentityProvider:
    """A JWKS endpoint on 127.0.0.1 (a thread of this test process), with keys the test can rotate."""

    def __init__(self) -> None:
        self.keys = [RSAKey.generate_key(2048, parameters={"kid": "idp-1"})]
        self.requests = 0
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                provider.requests += 1
                body = json.dumps(KeySet(provider.keys).as_dict(private=False)).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def jwks_uri(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/jwks"

    def token(self, key: Any = None, **claims: Any) -> str:
        key = key or self.keys[0]
        now = int(time.time())
        body = {
            "iss": ISSUER,
            "aud": AUDIENCE,
            "sub": "u-4711",
            "name": "Anna de Vries",
            "iat": now,
            "exp": now + 300,
            "roles": ["nakoming-editor"],
            "org": "zk-noord",
            **claims,
        }
        return jwt.encode(
            {"alg": "RS256", "kid": key.kid}, {k: v for k, v in body.items() if v is not None}, key
        )


@pytest.fixture
def idp() -> Iterator[IdentityProvider]:
    provider = IdentityProvider()
    provider.thread.start()
    yield provider
    provider.server.shutdown()
    provider.server.server_close()


def issuer_config(idp: IdentityProvider) -> OidcIssuer:
    return OidcIssuer(
        issuer=ISSUER,
        audience=AUDIENCE,
        jwks_uri=idp.jwks_uri,
        scopes_claim="roles",
        scope_map={"nakoming-editor": ["read", "write"], "nakoming-viewer": ["read"]},
        party_claim="org",
        party_map={"zk-noord": PARTY},
    )


@pytest.fixture
def settings(settings: Settings, idp: IdentityProvider) -> Settings:
    return settings.model_copy(update={"oidc_issuers": [issuer_config(idp)], "oidc_jwks_refresh_seconds": 0})


@pytest.fixture
async def party(session_factory: Any) -> uuid.UUID:
    async with session_factory() as s:
        s.add(Party(id=PARTY, name="Zorgkantoor Noord", kind="zorgkantoor"))
        await s.commit()
    return PARTY


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_a_person_writes_and_the_audit_names_them(
    client: httpx.AsyncClient, idp: IdentityProvider, party: uuid.UUID, admin: dict
) -> None:
    r = await client.post(
        "/v1/commitments",
        json={"title": "Van een scherm", "owner_party_id": str(party)},
        headers=bearer(idp.token()),
    )
    assert r.status_code == 201, r.text
    other = await client.post("/v1/commitments", json={"title": "Niet van ons"}, headers=bearer(idp.token()))
    assert other.status_code == 403  # a person of a party changes only what the party owns
    entry = (await client.get("/v1/audit", params={"record_id": r.json()["id"]}, headers=admin)).json()[
        "items"
    ][0]
    assert entry["actor"] == "Anna de Vries" and entry["subject"] == f"{ISSUER}#u-4711"
    assert entry["key_id"] is None and entry["client_id"] is None and entry["party_id"] == str(party)


async def test_rejected_person_tokens(
    client: httpx.AsyncClient, idp: IdentityProvider, party: uuid.UUID
) -> None:
    now = int(time.time())
    stranger = RSAKey.generate_key(2048, parameters={"kid": "idp-1"})
    for token in (
        idp.token(aud="another-api"),
        idp.token(exp=now - 60),
        idp.token(stranger),
        idp.token(org="zk-unknown"),
        idp.token(sub=None),
    ):
        r = await client.get("/v1/commitments", headers=bearer(token))
        assert r.status_code == 401 and 'error="invalid_token"' in r.headers["www-authenticate"], r.text
    viewer = idp.token(roles=["nakoming-viewer"])
    r = await client.post(
        "/v1/commitments", json={"title": "x", "owner_party_id": str(party)}, headers=bearer(viewer)
    )
    assert r.status_code == 403 and 'error="insufficient_scope"' in r.headers["www-authenticate"]


async def test_rotated_issuer_keys_are_fetched_again(
    client: httpx.AsyncClient, idp: IdentityProvider, party: uuid.UUID
) -> None:
    assert (await client.get("/v1/commitments", headers=bearer(idp.token()))).status_code == 200
    fetched = idp.requests
    assert (await client.get("/v1/commitments", headers=bearer(idp.token(sub="u-2")))).status_code == 200
    assert idp.requests == fetched  # kept, not fetched per token
    idp.keys.insert(0, RSAKey.generate_key(2048, parameters={"kid": "idp-2"}))
    assert (await client.get("/v1/commitments", headers=bearer(idp.token(sub="u-3")))).status_code == 200
    assert idp.requests == fetched + 1


async def test_unknown_kids_refetch_at_most_once_per_interval(idp: IdentityProvider) -> None:
    issuer = issuer_config(idp)
    async with httpx.AsyncClient() as http:
        cache = JwksCache(http, keep_seconds=3600, refresh_seconds=60)
        await cache.keys(issuer, "idp-1")
        for n in range(5):
            await cache.keys(issuer, f"made-up-{n}")
    assert idp.requests == 1 and cache.fetches == 1
