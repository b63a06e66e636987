"""Signing keys from NAKOMING_OAUTH_SIGNING_KEYS: the first key signs, the others still verify (a rotation), only
asymmetric private keys are taken, and production without keys issues nothing."""

from __future__ import annotations

import json
from typing import Any

import pytest
from pydantic import SecretStr

from shared.auth.tokens import TokenRejected, generate_jwk, load_signer, new_claims
from shared.settings import Settings


def _settings(**kw: Any) -> Settings:
    return Settings(_env_file=None, **kw)  # type: ignore[call-arg]


def _keys(*jwks: dict[str, Any]) -> SecretStr:
    return SecretStr(json.dumps({"keys": list(jwks)}))


async def test_rotation_first_key_signs_older_keys_verify() -> None:
    old, new = generate_jwk("2026-11"), generate_jwk("2026-12")
    before = await load_signer(_settings(oauth_signing_keys=_keys(old)), None)  # type: ignore[arg-type]
    after = await load_signer(_settings(oauth_signing_keys=_keys(new, old)), None)  # type: ignore[arg-type]
    assert before is not None and after is not None
    claims = new_claims(
        issuer="https://api", audience="nakoming", subject="nkc_1", lifetime=60, client_id="nkc_1"
    )
    issued_before = before.issue(claims)
    assert after.verify(issued_before, issuer="https://api", audience="nakoming")["sub"] == "nkc_1"
    assert after.current.kid == "2026-12" and [k["kid"] for k in after.jwks()["keys"]] == [
        "2026-12",
        "2026-11",
    ]
    assert all("d" not in k for k in after.jwks()["keys"])
    retired = await load_signer(_settings(oauth_signing_keys=_keys(new)), None)  # type: ignore[arg-type]
    with pytest.raises(TokenRejected):
        retired.verify(issued_before, issuer="https://api", audience="nakoming")  # type: ignore[union-attr]


@pytest.mark.parametrize(
    "bad",
    [
        {"kty": "oct", "k": "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0", "kid": "hmac"},  # symmetric: refused
        {k: v for k, v in generate_jwk("pub").items() if k != "d"},  # a public key cannot sign
    ],
)
async def test_unusable_signing_keys_are_refused_at_start(bad: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        await load_signer(_settings(oauth_signing_keys=_keys(bad)), None)  # type: ignore[arg-type]


async def test_production_without_keys_issues_nothing() -> None:
    settings = _settings(environment="production", pseudonym_key=SecretStr("k" * 32))
    assert await load_signer(settings, None) is None  # type: ignore[arg-type]


async def test_a_key_without_kid_is_named_by_its_thumbprint() -> None:
    jwk = {k: v for k, v in generate_jwk("x").items() if k != "kid"}
    signer = await load_signer(_settings(oauth_signing_keys=_keys(jwk)), None)  # type: ignore[arg-type]
    assert signer is not None and signer.current.kid == signer.current.thumbprint()
