"""OAuth2 client credentials: the token endpoint (RFC 6749 §4.4, §5.2), the tokens (RFC 9068), private_key_jwt
(RFC 7523), the metadata (RFC 8414), and every way a bearer JWT must be refused (RFC 6750)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid
from typing import Any

import httpx
import pytest
from joserfc import jwt
from joserfc.jwk import ECKey, KeySet

from services.api.openapi import SCOPE_DESCRIPTIONS
from shared.auth.clients import ASSERTION_TYPE, create_client, revoke_client, rotate_secret
from shared.auth.service import Scope
from shared.errors import ValidationFailed
from tests.factories import create_party, post_signal, signal

TOKEN = "/v1/oauth/token"
GRANT = {"grant_type": "client_credentials"}


async def new_client(
    session_factory: Any, scopes: list[str], party_id: Any = None, **kw: Any
) -> tuple[str, str | None]:
    async with session_factory() as s:
        made, secret = await create_client(
            s, name="Zorgkantoor systeem", scopes=scopes, party_id=party_id, **kw
        )
        await s.commit()
    return made.client_id, secret


async def access_token(client: httpx.AsyncClient, client_id: str, secret: str, **form: str) -> str:
    r = await client.post(TOKEN, data={**GRANT, **form}, auth=(client_id, secret))
    assert r.status_code == 200, r.text
    return r.json()["access_token"]


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_client_credentials_token(client: httpx.AsyncClient, session_factory: Any) -> None:
    client_id, secret = await new_client(session_factory, ["read", "write"])
    r = await client.post(TOKEN, data={**GRANT, "scope": "write"}, auth=(client_id, secret or ""))
    assert r.status_code == 200 and r.headers["cache-control"] == "no-store"
    body = r.json()
    assert body["token_type"] == "Bearer" and body["scope"] == "write" and 0 < body["expires_in"] <= 3600
    keys = KeySet.import_key_set((await client.get("/.well-known/jwks.json")).json())
    token = jwt.decode(body["access_token"], keys, algorithms=["ES256"])
    assert token.header["typ"] == "at+jwt" and token.header["kid"] == keys.keys[0].kid
    claims = token.claims
    assert claims["iss"] == "http://test" and claims["aud"] == "nakoming" and claims["sub"] == client_id
    assert claims["client_id"] == client_id and claims["scope"] == "write" and claims["party"] is None
    assert (
        claims["exp"] - claims["iat"] == body["expires_in"]
        and claims["nbf"] <= claims["iat"]
        and claims["jti"]
    )
    # the token works beside API keys: a write needs `write`
    made = await client.post(
        "/v1/commitments", json={"title": "Met een token"}, headers=bearer(body["access_token"])
    )
    assert made.status_code == 201, made.text
    # without a scope named, every scope of the client
    assert set(
        (await client.post(TOKEN, data=GRANT, auth=(client_id, secret or ""))).json()["scope"].split()
    ) == {"read", "write"}


async def test_token_endpoint_errors(client: httpx.AsyncClient, session_factory: Any) -> None:
    client_id, secret = await new_client(session_factory, ["read"])

    def oauth_error(r: httpx.Response, status: int, error: str) -> None:
        assert r.status_code == status, r.text
        assert r.headers["content-type"] == "application/json" and r.json()["error"] == error
        assert r.headers["cache-control"] == "no-store"

    r = await client.post(TOKEN, data=GRANT, auth=(client_id, "guessed-Secret-42"))
    oauth_error(r, 401, "invalid_client")
    assert r.headers["www-authenticate"].startswith("Basic")
    assert "guessed-Secret-42" not in r.text
    oauth_error(await client.post(TOKEN, data=GRANT, auth=("nkc_nobody", "x")), 401, "invalid_client")
    oauth_error(await client.post(TOKEN, data=GRANT), 400, "invalid_request")
    oauth_error(
        await client.post(TOKEN, data={"grant_type": "password"}, auth=(client_id, secret or "")),
        400,
        "unsupported_grant_type",
    )
    oauth_error(await client.post(TOKEN, data={}, auth=(client_id, secret or "")), 400, "invalid_request")
    oauth_error(
        await client.post(TOKEN, data={**GRANT, "scope": "read write"}, auth=(client_id, secret or "")),
        400,
        "invalid_scope",
    )
    oauth_error(
        await client.post(TOKEN, data={**GRANT, "scope": "admin"}, auth=(client_id, secret or "")),
        400,
        "invalid_scope",
    )


async def test_metadata_and_scopes(client: httpx.AsyncClient) -> None:
    meta = (await client.get("/.well-known/oauth-authorization-server")).json()
    assert meta["issuer"] == "http://test" and meta["token_endpoint"] == "http://test/v1/oauth/token"
    assert meta["jwks_uri"] == "http://test/.well-known/jwks.json"
    assert meta["grant_types_supported"] == ["client_credentials"]
    assert set(meta["token_endpoint_auth_methods_supported"]) == {"client_secret_basic", "private_key_jwt"}
    assert set(meta["scopes_supported"]) == {s.value for s in Scope} == set(SCOPE_DESCRIPTIONS)
    jwks = (await client.get("/.well-known/jwks.json")).json()
    assert jwks["keys"] and all("d" not in k for k in jwks["keys"])  # public parts only


async def test_private_key_jwt(client: httpx.AsyncClient, session_factory: Any) -> None:
    key = ECKey.generate_key("P-256", parameters={"kid": "system-1"})
    client_id, secret = await new_client(session_factory, ["read"], jwks=KeySet([key]).as_dict())
    assert secret is None

    def assertion(signing_key: Any = key, **claims: Any) -> str:
        now = int(time.time())
        body = {
            "iss": client_id,
            "sub": client_id,
            "aud": "http://test/v1/oauth/token",
            "iat": now,
            "exp": now + 60,
            "jti": uuid.uuid4().hex,
            **claims,
        }
        return jwt.encode({"alg": "ES256", "kid": "system-1"}, body, signing_key)

    def form(value: str) -> dict[str, str]:
        return {**GRANT, "client_assertion_type": ASSERTION_TYPE, "client_assertion": value}

    r = await client.post(TOKEN, data=form(assertion()))
    assert r.status_code == 200, r.text
    assert (await client.get("/v1/commitments", headers=bearer(r.json()["access_token"]))).status_code == 200
    other = ECKey.generate_key("P-256", parameters={"kid": "system-1"})
    for bad in (
        assertion(other),
        assertion(aud="https://elsewhere/token"),
        assertion(exp=int(time.time()) - 60),
        assertion(iss="nkc_someone_else"),
        assertion(exp=int(time.time()) + 3600),
    ):
        r = await client.post(TOKEN, data=form(bad))
        assert r.status_code == 401 and r.json()["error"] == "invalid_client", r.text
    r = await client.post(TOKEN, data={**form(assertion()), "client_assertion_type": "urn:other"})
    assert r.status_code == 400 and r.json()["error"] == "invalid_request"


async def test_binding_a_signals_client_needs_a_party_code(
    client: httpx.AsyncClient, admin: dict, session_factory: Any
) -> None:
    party = await create_party(client, admin, name="Zorgkantoor Zonder Code", kind="zorgkantoor")
    with pytest.raises(ValidationFailed, match="zorgkantoor or AGB code"):
        await new_client(session_factory, ["signals:write"], uuid.UUID(party["id"]))
    client_id, _ = await new_client(session_factory, ["write"], uuid.UUID(party["id"]))  # no signals: allowed
    assert client_id.startswith("nkc_")


# --- bearer JWT attacks -----------------------------------------------------------------------------------------


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _segment(value: dict[str, Any]) -> str:
    return _b64(json.dumps(value).encode())


@pytest.fixture
async def signed(app: Any, client: httpx.AsyncClient, session_factory: Any) -> Any:
    """Makes tokens signed with the server's own key, claims and header as the test says."""
    client_id, secret = await new_client(session_factory, ["write"])
    good = await access_token(client, client_id, secret or "")
    signer = await app.state.signers.get()
    claims = jwt.decode(good, signer.public).claims

    def make(header: dict[str, Any] | None = None, **changes: Any) -> str:
        body = {k: v for k, v in {**claims, **changes}.items() if v is not None}
        head = {"alg": "ES256", "kid": signer.current.kid, "typ": "at+jwt", **(header or {})}
        return jwt.encode(head, body, signer.current)

    make.good = good  # type: ignore[attr-defined]
    make.client_id = client_id  # type: ignore[attr-defined]
    make.secret = secret  # type: ignore[attr-defined]
    return make


def _rejected(r: httpx.Response) -> str:
    assert r.status_code == 401, r.text
    assert r.headers["content-type"] == "application/problem+json"
    challenge = r.headers["www-authenticate"]
    assert challenge.startswith("Bearer ") and 'error="invalid_token"' in challenge, challenge
    assert "error_description=" in challenge
    return challenge


async def test_bearer_token_attacks(app: Any, client: httpx.AsyncClient, signed: Any) -> None:
    write = {"title": "Aanval"}
    assert (await client.post("/v1/commitments", json=write, headers=bearer(signed.good))).status_code == 201
    now = int(time.time())
    header, payload, signature = signed.good.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    signer = await app.state.signers.get()
    public_pem = signer.current.as_pem(private=False)
    hs_head = _segment({"alg": "HS256", "typ": "at+jwt", "kid": signer.current.kid})
    hs_body = _segment(claims)
    hs_signature = _b64(hmac.new(public_pem, f"{hs_head}.{hs_body}".encode(), hashlib.sha256).digest())
    attacks = {
        "expired": signed(exp=now - 60, iat=now - 700, nbf=now - 700),
        "not yet valid": signed(nbf=now + 600),
        "wrong audience": signed(aud="another-api"),
        "wrong issuer": signed(iss="https://evil.example"),
        "alg none": f"{_segment({'alg': 'none', 'typ': 'at+jwt'})}.{payload}.",
        "HS256 with the public key": f"{hs_head}.{hs_body}.{hs_signature}",
        "tampered payload": f"{header}.{_segment({**claims, 'scope': 'admin'})}.{signature}",
        "tampered signature": f"{header}.{payload}.{signature[:-4]}{'AAAA' if signature[-4:] != 'AAAA' else 'BBBB'}",
        "unknown kid": signed({"kid": "someone-elses"}),
        "not an access token": signed({"typ": "JWT"}),
        "no client_id": signed(client_id=None),
        "unknown client": signed(client_id="nkc_0000000000000000"),
        "garbage": "a.b.c",
    }
    for name, token in attacks.items():
        for request in (
            client.post("/v1/commitments", json=write, headers=bearer(token)),
            client.get("/v1/commitments", headers=bearer(token)),
        ):
            r = await request
            assert r.status_code == 401, (name, r.status_code, r.text)
            _rejected(r)


async def test_insufficient_scope(client: httpx.AsyncClient, make_token: Any) -> None:
    reader = await make_token(["read"])
    r = await client.post("/v1/commitments", json={"title": "x"}, headers=reader)
    assert r.status_code == 403
    assert (
        r.headers["www-authenticate"] == 'Bearer realm="nakoming", error="insufficient_scope", scope="write"'
    )


async def test_revoked_and_rotated_clients_lose_their_tokens(
    client: httpx.AsyncClient, session_factory: Any, signed: Any
) -> None:
    """The token's client is checked when a process first sees the token (later uses: the revocation watcher,
    tests/services/test_revocation_processes.py)."""
    async with session_factory() as s:
        new_secret = await rotate_secret(s, signed.client_id)
        await s.commit()
    assert new_secret
    assert "rotated" in _rejected(await client.get("/v1/commitments", headers=bearer(signed.good)))
    # the old secret no longer gets a token, the new one does
    r = await client.post(TOKEN, data=GRANT, auth=(signed.client_id, signed.secret))
    assert r.status_code == 401
    fresh = await access_token(client, signed.client_id, new_secret)
    async with session_factory() as s:
        assert await revoke_client(s, signed.client_id)
        await s.commit()
    _rejected(await client.get("/v1/commitments", headers=bearer(fresh)))
    r = await client.post(TOKEN, data=GRANT, auth=(signed.client_id, new_secret))
    assert r.status_code == 401 and r.json()["error"] == "invalid_client"


async def test_guessing_client_secrets_is_rate_limited(
    app: Any, client: httpx.AsyncClient, session_factory: Any
) -> None:
    """Past NAKOMING_AUTH_FAILURES_PER_MINUTE failures from an address, even the right secret is refused (429), so
    guessing costs a minute per few tries."""
    limiter = app.state.auth_failure_limiter
    limiter.prefix = f"test-oauth-authfail-{uuid.uuid4().hex}"
    limiter.per_minute = 3
    client_id, secret = await new_client(session_factory, ["read"])
    codes = [
        (await client.post(TOKEN, data=GRANT, auth=(client_id, f"guess-{n}"))).status_code for n in range(4)
    ]
    assert codes == [401, 401, 401, 429]
    r = await client.post(TOKEN, data=GRANT, auth=(client_id, secret or ""))
    assert r.status_code == 429 and int(r.headers["retry-after"]) > 0
    assert r.headers["content-type"] == "application/problem+json"


async def test_signal_intake_with_a_token_names_the_client(
    client: httpx.AsyncClient, admin: dict, make_token: Any, themes: None
) -> None:
    """The intake (one raw statement on PostgreSQL, the session path on SQLite) audits the client, scoped to its
    party's zorgkantoor code like a bound key."""
    party = await create_party(
        client, admin, name="Zorgkantoor Noord", kind="zorgkantoor", zorgkantoor_code="5521"
    )
    headers = await make_token(["signals:write", "signals:read"], uuid.UUID(party["id"]))
    r = await post_signal(client, headers, signal(zorgkantoor_code="5521"))
    assert r.status_code == 201, r.text
    assert (await post_signal(client, headers, signal(zorgkantoor_code="9999"))).status_code == 403
    entries = (await client.get("/v1/audit", params={"record_id": r.json()["id"]}, headers=admin)).json()[
        "items"
    ]
    assert [(e["action"], e["client_id"][:4], e["party_id"]) for e in entries] == [
        ("signals.create", "nkc_", party["id"])
    ]
