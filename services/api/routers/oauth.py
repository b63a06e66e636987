"""OAuth2 for systems: the client credentials grant (RFC 6749 §4.4) at POST /v1/oauth/token, with the client
authenticated by HTTP Basic (client_secret_basic) or a signed assertion (private_key_jwt, RFC 7523); the public
signing keys (JWKS) and the RFC 8414 metadata under /.well-known. Errors of the token endpoint are RFC 6749 §5.2
JSON (`error`, `error_description`), as OAuth2 client libraries expect, not problem+json."""

from __future__ import annotations

import base64
import binascii
from typing import Annotated, Any, Literal
from urllib.parse import unquote

from fastapi import APIRouter, Form, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from services.api.bearer import issuer_of
from services.api.deps import failed_authentication, not_blocked
from services.api.openapi import HEADERS, ok
from shared.auth.clients import ASSERTION_ALGORITHMS, ASSERTION_TYPE, ClientState, by_assertion, by_secret
from shared.auth.service import Scope
from shared.auth.tokens import Signer, TokenRejected, new_claims
from shared.errors import ServiceUnavailable

TOKEN_PATH = "/v1/oauth/token"
router = APIRouter(tags=["oauth"])
FORM = "application/x-www-form-urlencoded"
NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}  # RFC 6749 §5.1


class TokenResponse(BaseModel):
    access_token: str = Field(description="A JWT (RFC 9068); send it as `Authorization: Bearer <token>`.")
    token_type: Literal["Bearer"] = "Bearer"
    expires_in: int = Field(examples=[600], description="Seconds until the token expires.")
    scope: str = Field(
        examples=["signals:write signals:read"], description="The scopes granted, space-separated."
    )


class TokenRequest(BaseModel):
    """Every field optional here: a missing one is an RFC 6749 invalid_request, not a 422."""

    grant_type: str | None = Field(default=None, description="`client_credentials`")
    scope: str | None = Field(
        default=None, description="Space-separated scopes; default: all the client has."
    )
    client_id: str | None = Field(
        default=None, description="With private_key_jwt: the client's id (optional)."
    )
    client_assertion_type: str | None = Field(
        default=None, description=f"With private_key_jwt: `{ASSERTION_TYPE}`"
    )
    client_assertion: str | None = Field(
        default=None,
        description="With private_key_jwt: a JWT signed with a key "
        "of the client's JWKS (iss = sub = client_id, aud = the token endpoint).",
    )


class OAuthErrorBody(BaseModel):
    error: Literal[
        "invalid_request",
        "invalid_client",
        "invalid_grant",
        "unauthorized_client",
        "unsupported_grant_type",
        "invalid_scope",
    ]
    error_description: str | None = None


class OAuthError(Exception):
    def __init__(self, error: str, description: str, status: int = 400) -> None:
        super().__init__(description)
        self.error, self.description, self.status = error, description, status

    def response(self) -> JSONResponse:
        headers = dict(NO_STORE)
        if self.status == 401:
            headers["WWW-Authenticate"] = 'Basic realm="nakoming"'
        return JSONResponse(
            {"error": self.error, "error_description": self.description},
            status_code=self.status,
            headers=headers,
        )


_ERROR_HEADERS = {"Cache-Control": HEADERS["Cache-Control"]}
TOKEN_RESPONSES: dict[int | str, dict[str, Any]] = {
    **ok("An access token", "Cache-Control"),
    400: {
        "model": OAuthErrorBody,
        "headers": _ERROR_HEADERS,
        "description": "RFC 6749 §5.2: invalid_request, unsupported_grant_type or invalid_scope",
    },
    401: {
        "model": OAuthErrorBody,
        "headers": {**_ERROR_HEADERS, "WWW-Authenticate": HEADERS["WWW-Authenticate"]},
        "description": "RFC 6749 §5.2 invalid_client: unknown, revoked or wrongly authenticated client",
    },
    429: {"description": "Too many failed client authentications from this address; see Retry-After"},
}


@router.post(
    TOKEN_PATH,
    operation_id="oauth-token",
    response_model=TokenResponse,
    responses=TOKEN_RESPONSES,
    openapi_extra={
        "security": [{"clientBasic": []}, {}],
        "requestBody": {
            "content": {
                FORM: {
                    "examples": {
                        "client_secret_basic": {
                            "summary": "With HTTP Basic client authentication",
                            "value": {"grant_type": "client_credentials", "scope": "signals:write"},
                        },
                        "private_key_jwt": {
                            "summary": "With a signed client assertion",
                            "value": {
                                "grant_type": "client_credentials",
                                "client_assertion_type": ASSERTION_TYPE,
                                "client_assertion": "eyJhbGciOiJFUzI1NiJ9.e30.c2ln",
                            },
                        },
                    }
                }
            }
        },
    },
)
async def token(request: Request, form: Annotated[TokenRequest, Form()]) -> Any:
    """Issue an access token to a system (OAuth2 client credentials grant)."""
    signer: Signer | None = await request.app.state.signers.get()
    if signer is None:
        raise ServiceUnavailable(
            "OAuth2 tokens are not issued here: the operator has not set NAKOMING_OAUTH_SIGNING_KEYS.",
            retry_after=3600,
        )
    try:
        client = await _client(request, form.client_id, form.client_assertion_type, form.client_assertion)
        grant_type = form.grant_type
        if grant_type != "client_credentials":
            raise OAuthError(
                "unsupported_grant_type" if grant_type else "invalid_request",
                "Only grant_type=client_credentials is supported."
                if grant_type
                else "grant_type is required.",
            )
        granted = _granted(client, form.scope)
    except OAuthError as exc:
        return exc.response()
    settings = request.app.state.settings
    lifetime = settings.oauth_token_seconds
    claims = new_claims(
        issuer=issuer_of(request),
        audience=settings.oauth_audience,
        subject=client.client_id,
        lifetime=lifetime,
        client_id=client.client_id,
        scope=" ".join(granted),
        party=str(client.party_id) if client.party_id else None,
        gen=client.generation,
    )
    body = {
        "access_token": signer.issue(claims),
        "token_type": "Bearer",
        "expires_in": lifetime,
        "scope": " ".join(granted),
    }
    return JSONResponse(body, headers=NO_STORE)


async def _client(
    request: Request, client_id: str | None, assertion_type: str | None, assertion: str | None
) -> ClientState:
    """The authenticated client (by Basic or by assertion, exactly one of them), or invalid_client (counted
    against the address like a failed API key)."""
    limiter, address = await not_blocked(request)  # a guessed secret is not even checked past the limit
    basic = _basic(request.headers.get("authorization"))
    if (basic is None) == (assertion is None):
        raise OAuthError(
            "invalid_request",
            "Authenticate the client with HTTP Basic (client_secret_basic) or a client_assertion "
            "(private_key_jwt), exactly one of them.",
        )
    app = request.app
    async with app.state.session_factory() as db:
        try:
            if basic is not None:
                client = await by_secret(db, *basic)
                reason = "unknown client or wrong secret"
            else:
                if assertion_type != ASSERTION_TYPE:
                    raise OAuthError("invalid_request", f"client_assertion_type must be {ASSERTION_TYPE}.")
                issuer = issuer_of(request)
                client = await by_assertion(db, assertion or "", audiences=[issuer + TOKEN_PATH, issuer])
                reason = ""
        except TokenRejected as exc:
            client, reason = None, str(exc)
        finally:
            await db.rollback()
    if client is not None and client_id is not None and client_id != client.client_id:
        client, reason = None, "client_id does not match the authenticated client"
    if client is None:
        await failed_authentication(
            request, limiter, address, f"oauth client authentication failed: {reason}"
        )
        raise OAuthError("invalid_client", f"Client authentication failed: {reason}.", 401)
    return client


def _basic(header: str | None) -> tuple[str, str] | None:
    """(client_id, secret) of an HTTP Basic header (form-urlencoded first, RFC 6749 §2.3.1), or None."""
    if not header or header[:6].lower() != "basic ":
        return None
    try:
        decoded = base64.b64decode(header[6:].strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        raise OAuthError("invalid_client", "Malformed HTTP Basic credentials.", 401) from None
    user, sep, password = decoded.partition(":")
    if not sep:
        raise OAuthError("invalid_client", "Malformed HTTP Basic credentials.", 401)
    return unquote(user), unquote(password)


def _granted(client: ClientState, requested: str | None) -> list[str]:
    """The requested scopes (all the client's when none are named), each one the client holds."""
    if requested is None or not requested.strip():
        return sorted(client.scopes)
    wanted = list(dict.fromkeys(requested.split()))
    if not set(wanted) <= client.scopes:
        raise OAuthError(
            "invalid_scope",
            "The client may request only its own scopes: " + " ".join(sorted(client.scopes)) + ".",
        )
    return wanted


class Jwks(BaseModel):
    keys: list[dict[str, Any]] = Field(description="Public JWKs (RFC 7517); a token's `kid` names one.")


@router.get(
    "/.well-known/jwks.json",
    operation_id="oauth-jwks",
    response_model=Jwks,
    responses=ok("The public keys access tokens are signed with (the current one first)"),
)
async def jwks(request: Request) -> Any:
    """The public keys that verify this server's access tokens."""
    signer: Signer | None = await request.app.state.signers.get()
    return signer.jwks() if signer is not None else {"keys": []}


class ServerMetadata(BaseModel):
    issuer: str
    token_endpoint: str
    jwks_uri: str
    grant_types_supported: list[str]
    token_endpoint_auth_methods_supported: list[str]
    token_endpoint_auth_signing_alg_values_supported: list[str]
    scopes_supported: list[str]
    response_types_supported: list[str]


@router.get(
    "/.well-known/oauth-authorization-server",
    operation_id="oauth-metadata",
    response_model=ServerMetadata,
    responses=ok("RFC 8414 authorization server metadata"),
)
async def metadata(request: Request) -> Any:
    """How to get a token here (RFC 8414)."""
    issuer = issuer_of(request)
    return {
        "issuer": issuer,
        "token_endpoint": issuer + TOKEN_PATH,
        "jwks_uri": issuer + "/.well-known/jwks.json",
        "grant_types_supported": ["client_credentials"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "private_key_jwt"],
        "token_endpoint_auth_signing_alg_values_supported": ASSERTION_ALGORITHMS,
        "scopes_supported": [s.value for s in Scope],
        "response_types_supported": [],
    }
