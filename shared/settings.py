"""Settings: one pydantic-settings class, every field from a NAKOMING_* environment variable."""

from __future__ import annotations

import uuid
from functools import lru_cache
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

DEFAULT_TK_DOSSIERS = ["31765", "24170", "30218", "34104"]
DEFAULT_TK_TERMS = ["Fokus", "ADL", "gehandicaptenzorg", "Q-Consult", "zzp", "Wlz", "Volwaardig leven"]


def _split_csv(value: Any) -> Any:
    """A comma-separated string as its parts; anything else (a list from JSON) as it is."""
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return value


class OidcIssuer(BaseModel):
    """An external OpenID Connect issuer whose access tokens name people (NAKOMING_OIDC_ISSUERS, a JSON list)."""

    issuer: str = Field(description="the tokens' `iss`, exactly")
    audience: str = Field(description="the `aud` the tokens must carry for this API")
    jwks_uri: str = Field(description="where the issuer publishes its public keys")
    scopes_claim: str = Field(
        default="scope",
        description="claim with the person's roles or scopes (space-separated text or a list)",
    )
    scope_map: dict[str, list[str]] = Field(
        default_factory=dict,
        description="claim value -> Nakoming scopes; "
        "empty: values that are Nakoming scope names count as such",
    )
    party_claim: str | None = Field(default=None, description="claim naming the person's organisation")
    party_map: dict[str, uuid.UUID] = Field(default_factory=dict, description="party claim value -> party id")
    party: uuid.UUID | None = Field(
        default=None, description="party of every person of this issuer (when there is no party_claim)"
    )
    name_claim: str = Field(default="name", description="claim with the display name the audit shows")
    algorithms: list[str] = Field(default_factory=lambda: ["RS256", "ES256", "PS256", "EdDSA"])


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="NAKOMING_", env_file=".env", extra="ignore")

    environment: Literal["development", "test", "production"] = "development"
    database_url: str = "sqlite+aiosqlite:///./nakoming.db"
    database_pool_size: int = Field(default=10, ge=1, le=200)
    # PostgreSQL only: serve the hottest paths (commitment lists, signal intake) on a raw asyncpg pool (shared/pg.py).
    fast_path: bool = True
    redis_url: str = "redis://127.0.0.1:6379/0"
    # "arq" enqueues on Redis for `nakoming worker`; "inprocess" runs jobs inside the API process.
    job_backend: Literal["arq", "inprocess"] = "arq"
    # A running arq job holds a lease this long, renewed while it runs; a killed worker's jobs run again after it.
    job_lease_seconds: int = Field(default=30, ge=3, le=3600)
    # arq polls Redis once per interval and starts at most `worker_max_jobs - running` jobs each time, so a worker
    # starts at most max_jobs / poll seconds jobs per second (10 / 0.5 s = 20/s with arq's defaults: writes at
    # 50/s queued for seconds before their recalculation ran). A poll is one small Redis call.
    worker_poll_seconds: float = Field(
        default=0.1,
        gt=0,
        le=5,
        description="how often a worker looks for new jobs (and the cap of its "
        "retry backoff during an outage)",
    )
    worker_max_jobs: int = Field(default=20, ge=1, le=500, description="jobs one worker runs at once")
    log_level: str = "INFO"
    log_json: bool = True

    # Observability and shutdown (shared/metrics.py, shared/tracing.py, services/api/lifecycle.py).
    metrics_port: int | None = Field(
        default=None,
        ge=1,
        le=65535,
        description=(
            "serve /metrics without a key on this port (keep it off the public network); unset: the API serves "
            "/metrics to admin keys only, the worker exports nothing"
        ),
    )
    metrics_cache_seconds: float = Field(
        default=10.0,
        ge=0,
        description="how long figures read from the database "
        "for /metrics (commitments per status, TK sync lag) are reused",
    )
    otlp_endpoint: str | None = Field(
        default=None,
        description="OTLP/HTTP traces URL; tracing is off without it "
        "(or without OTEL_EXPORTER_OTLP_ENDPOINT)",
    )
    shutdown_grace_seconds: int = Field(
        default=30,
        ge=1,
        le=3600,
        description="API: after SIGTERM, how long in-flight requests may take before they are cut off",
    )
    worker_grace_seconds: int = Field(
        default=3600,
        ge=1,
        le=86400,
        description="worker: after SIGTERM, how long "
        "running jobs may take; jobs still running then go back to the queue",
    )

    public_read: bool = True
    auth_cache_seconds: float = Field(
        default=10.0, ge=0, description="how long a process trusts a checked API key"
    )
    # How often each API process checks the revocation epoch (services/api/revocation.py): a key or client revoked
    # anywhere stops working everywhere within about this long. Remembered keys are not trusted at all when the
    # check has not succeeded for 4 intervals.
    auth_revocation_poll_seconds: float = Field(default=1.0, gt=0, le=5)

    # OAuth2 (services/api/routers/oauth.py, shared/auth/tokens.py). Signing keys: a JWKS with private keys, the
    # first signs; without it one is generated per database (not in production, where issuing is then off).
    oauth_signing_keys: SecretStr | None = None
    oauth_issuer: str | None = Field(
        default=None, description="the `iss` of issued tokens; default: the URL the API is reached at"
    )
    oauth_audience: str = Field(default="nakoming", description="the `aud` of issued tokens")
    oauth_token_seconds: int = Field(default=600, ge=60, le=3600, description="access token lifetime")
    oidc_issuers: list[OidcIssuer] = Field(default_factory=list)
    oidc_jwks_cache_seconds: float = Field(
        default=3600, gt=0, description="how long an issuer's JWKS is kept"
    )
    oidc_jwks_refresh_seconds: float = Field(
        default=30,
        ge=0,
        description="least time between fetches of an "
        "issuer's JWKS when a token names a kid it does not have",
    )

    cors_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)

    tk_syncfeed_url: str = "https://gegevensmagazijn.tweedekamer.nl/SyncFeed/2.0"
    tk_dossiers: Annotated[list[str], NoDecode] = Field(default_factory=lambda: list(DEFAULT_TK_DOSSIERS))
    tk_terms: Annotated[list[str], NoDecode] = Field(default_factory=lambda: list(DEFAULT_TK_TERMS))
    tk_start_tokens: Annotated[dict[str, int], NoDecode] = Field(default_factory=dict)
    tk_sync_interval: int = Field(default=15 * 60, ge=60, description="seconds between scheduled syncs")
    tk_request_timeout: float = Field(default=30.0, gt=0)
    tk_max_retries: int = Field(default=5, ge=0, le=20)
    tk_backoff_base: float = Field(default=1.0, ge=0)
    tk_backoff_max: float = Field(default=60.0, ge=0)
    tk_request_interval: float = Field(default=0.5, ge=0, description="polite pause between feed requests")
    # Extra document kinds always kept (e.g. "Brief regering", so a fulfilment letter named later is there).
    tk_document_soorten: Annotated[list[str], NoDecode] = Field(default_factory=list)
    # Toezeggingen of this ministry that match tk_terms are offered as suggested commitments.
    tk_suggestion_ministerie: str = "Volksgezondheid, Welzijn en Sport"

    due_soon_days: int = Field(default=30, ge=0)
    stale_action_days: int = Field(default=90, ge=1)
    signal_recent_days: int = Field(
        default=30, ge=1, description="status engine: recent window for signal rises"
    )
    signal_baseline_days: int = Field(
        default=180, ge=1, description="status engine: trailing baseline window"
    )
    signal_alpha: float = Field(default=0.05, gt=0, lt=1, description="status engine: significance level")
    signal_min_count: int = Field(
        default=5, ge=1, description="status engine: minimum recent signals to judge"
    )
    recalc_batch_size: int = Field(
        default=10000, ge=1, le=50000, description="commitments per batch in a full recalculation"
    )

    pseudonym_key: SecretStr | None = None
    pseudonym_key_version: int = Field(default=1, ge=1)
    idempotency_ttl_hours: int = Field(default=24, ge=1)
    min_cell: int = Field(default=5, ge=1)
    rate_limit_per_minute: int = Field(default=600, ge=1)
    auth_failures_per_minute: int = Field(
        default=20,
        ge=1,
        description="failed authentications per client address "
        "per minute; beyond it every authentication from there is a 429",
    )
    signal_retention_days: int = Field(default=730, ge=1, description="default retention after received_date")

    # Change feed and webhooks (shared/events, shared/webhooks).
    event_retention_days: int = Field(
        default=90, ge=1, description="events older than this are purged nightly"
    )
    webhook_allow_private: bool = Field(
        default=False,
        description="allow http and private, loopback and link-local "
        "webhook targets (tests and closed networks only)",
    )
    # Seconds before each retry of a failed delivery (about 28 h in all); after the last the webhook is disabled.
    webhook_retry_schedule: Annotated[list[float], NoDecode] = Field(
        default_factory=lambda: [5.0, 300.0, 1800.0, 7200.0, 18000.0, 36000.0, 36000.0]
    )
    webhook_timeout: float = Field(default=10.0, gt=0, le=60, description="seconds a receiver has to answer")
    webhook_concurrency: int = Field(default=20, ge=1, le=200, description="deliveries in flight per webhook")

    # What one request may cost (services/api/middleware.py, services/api/errors.py).
    max_body_bytes: int = Field(default=1024 * 1024, ge=1024, description="largest request body (413 beyond)")
    max_batch_bytes: int = Field(default=64 * 1024 * 1024, ge=1024, description="largest signal batch upload")
    max_field_errors: int = Field(default=100, ge=1, le=1000, description="field errors listed in one 422")
    offload_body_bytes: int = Field(
        default=64 * 1024,
        ge=0,
        description="JSON bodies larger than this are "
        "parsed and screened in a worker thread, off the event loop",
    )

    @model_validator(mode="before")
    @classmethod
    def _parse_lists(cls, data: dict) -> dict:
        for name in ("cors_origins", "tk_dossiers", "tk_terms", "tk_document_soorten"):
            for key in (name, name.upper(), f"NAKOMING_{name.upper()}"):
                if key in data:
                    data[key] = _split_csv(data[key])
        for key in ("webhook_retry_schedule", "WEBHOOK_RETRY_SCHEDULE", "NAKOMING_WEBHOOK_RETRY_SCHEDULE"):
            if isinstance(data.get(key), str):
                data[key] = _split_csv(data[key])
        for key in ("tk_start_tokens", "TK_START_TOKENS", "NAKOMING_TK_START_TOKENS"):
            raw = data.get(key)
            if isinstance(raw, str):
                tokens: dict[str, int] = {}
                for part in _split_csv(raw):
                    category, sep, token = part.partition("=")
                    if not sep or not token.strip().isdigit():
                        raise ValueError(
                            f"NAKOMING_TK_START_TOKENS: expected 'Category=token,...', got {part!r}"
                        )
                    tokens[category.strip()] = int(token)
                data[key] = tokens
        return data

    @model_validator(mode="after")
    def _refuse_unsafe_production(self) -> Settings:
        if self.environment == "production" and self.pseudonym_key is None:
            raise ValueError("NAKOMING_PSEUDONYM_KEY is required outside development")
        return self

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


@lru_cache
def get_settings() -> Settings:
    return Settings()
