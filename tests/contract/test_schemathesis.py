"""The whole API against its own OpenAPI document, with schemathesis (property-based: valid and invalid requests
generated from the schema, the schema's examples first), on SQLite and PostgreSQL.

Fails on any server error, a status code or content type the operation does not document, a body that does not
match its documented schema, a documented header that does not match, and a header we promise to document
(ETag, Location, Retry-After, Idempotent-Replayed, X-Request-ID) sent where the document does not name it.

The app runs in-process (schemathesis' ASGI transport, its own event loop) on a database of its own, migrated
and loaded with the seed dataset so lists and reads return real records; requests carry an admin key, so
every operation is reached past its scope check; path parameters name stored records as often as made-up ones. Bounded by MAX_EXAMPLES per operation (about a minute per backend).
"""

from __future__ import annotations

import asyncio
import os
import re
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from asgi_lifespan import LifespanManager
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.generation.modes import GenerationMode
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from sqlalchemy import text
from sqlalchemy.engine import make_url

from services.api.app import create_app
from services.embedded import create_key, load_seed
from shared.db import create_engine
from shared.migrate import upgrade
from shared.settings import Settings
from tests.conftest import BACKENDS, PG_URL, REDIS_URL

MAX_EXAMPLES = int(os.environ.get("NAKOMING_CONTRACT_EXAMPLES", "20"))
PROMISED_HEADERS = ("etag", "location", "retry-after", "idempotent-replayed", "x-request-id")


@schemathesis.check
def promised_headers_documented(ctx: Any, response: Any, case: Any) -> bool | None:
    """A header from PROMISED_HEADERS that the server sends is named in the response's documentation."""
    definition = case.operation.responses.find_by_status_code(response.status_code)
    documented = {name.lower() for name, _ in (definition.headers.items() if definition is not None else ())}
    sent = {name.lower() for name in response.headers}
    missing = sorted(h for h in PROMISED_HEADERS if h in sent and h not in documented)
    if missing:
        raise AssertionError(f"{case.operation.label} {response.status_code} sends undocumented {missing}")
    return None


# Batch uploads are text; the strings generated for them are sent as they are.
schemathesis.serializer.alias("application/x-ndjson", "text/plain")
schemathesis.serializer.alias("text/csv", "text/plain")

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
    promised_headers_documented,
]


def _database_url(backend: str, tmp: Path) -> str:
    if backend == "sqlite":
        return f"sqlite+aiosqlite:///{tmp / 'contract.db'}"
    # A database of its own: this test commits, and the other tests share theirs through rolled-back transactions.
    url = make_url(PG_URL)
    return url.set(database=f"{url.database}_schemathesis").render_as_string(hide_password=False)


async def _prepare(settings: Settings, backend: str) -> tuple[str, dict[str, list[tuple[str, ...]]]]:
    if backend == "postgresql":
        admin = create_engine(PG_URL, pool_size=1)
        name = make_url(settings.database_url).database
        async with admin.connect() as conn:
            conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
            await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            await conn.execute(text(f'CREATE DATABASE "{name}"'))
        await admin.dispose()
    engine = create_engine(settings.database_url)
    await upgrade(engine)
    await engine.dispose()
    await load_seed(settings)
    key, _ = await create_key(
        settings, name=f"schemathesis {uuid.uuid4().hex[:6]}", scopes="admin", party=None
    )
    await _add_signals(settings, {"Authorization": f"Bearer {key}"})
    return key, await _known_ids(settings)


async def _add_signals(settings: Settings, headers: dict[str, str]) -> None:
    """A few signals and a batch (the seed has none), sent as the OpenAPI document's own examples."""
    app = create_app(settings)
    async with (
        LifespanManager(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://prepare") as client,
    ):
        spec = (await client.get("/openapi.json")).json()
        example = spec["components"]["schemas"]["SignalIn"]["examples"][0]
        for n in range(3):
            r = await client.post(
                "/v1/signals",
                json={**example, "external_id": f"ST-{n}"},
                headers={**headers, "Idempotency-Key": uuid.uuid4().hex},
            )
            assert r.status_code == 201, r.text
        upload = spec["paths"]["/v1/signals/batches"]["post"]["requestBody"]["content"]["text/csv"]["example"]
        r = await client.post(
            "/v1/signals/batches",
            content=upload.replace("KL-2026-0042", "ST-batch"),
            headers={**headers, "Content-Type": "text/csv"},
        )
        assert r.status_code == 202, r.text


# Path templates and the stored records their parameters can name (besides the random ids schemathesis makes up).
KNOWN = {
    "/v1/signals/{signal_id}": "SELECT id FROM client_signals",
    "/v1/signals/batches/{batch_id}": "SELECT id FROM signal_batches",
    "/v1/commitments/{id}": "SELECT id FROM commitments",
    "/v1/milestones/{id}/measurements/{measurement_id}": "SELECT milestone_id, id FROM measurements",
    "/v1/milestones/{id}": "SELECT id FROM milestones",
    "/v1/recommendations/{id}": "SELECT id FROM recommendations",
    "/v1/actions/{id}": "SELECT id FROM actions",
    "/v1/parties/{id}": "SELECT id FROM parties",
    "/v1/sources/{id}": "SELECT id FROM sources",
    "/v1/themes/{key}": "SELECT key FROM themes",
    "/v1/tk/toezeggingen/{nummer}": "SELECT nummer FROM tk_toezeggingen",
}


async def _known_ids(settings: Settings) -> dict[str, list[tuple[str, ...]]]:
    engine = create_engine(settings.database_url)
    try:
        async with engine.connect() as conn:
            return {
                path: [tuple(map(str, row)) for row in (await conn.execute(text(f"{sql} LIMIT 20"))).all()]
                for path, sql in KNOWN.items()
            }
    finally:
        await engine.dispose()


def _with_known_ids(operation: Any, strategy: Any, known: dict[str, list[tuple[str, ...]]]) -> Any:
    """`strategy` with the path parameters set to stored records, so reads, updates and deletes find them."""
    template = next((t for t in KNOWN if operation.path == t or operation.path.startswith(t + "/")), None)
    if template is None or not known.get(template):
        return None
    names = re.findall(r"{(\w+)}", template)

    def named(case: Any, row: tuple[str, ...]) -> Any:
        case.path_parameters = {**(case.path_parameters or {}), **dict(zip(names, row))}
        return case

    return st.tuples(strategy, st.sampled_from(known[template])).map(lambda pair: named(*pair))


@pytest.fixture(scope="module", params=BACKENDS)
def contract(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    backend = request.param
    app_settings = Settings(
        environment="test",
        database_url=_database_url(backend, tmp_path_factory.mktemp("contract")),
        redis_url=REDIS_URL,
        job_backend="inprocess",
        log_json=False,
        rate_limit_per_minute=1_000_000,
        # POST /v1/sync/runs starts syncs: refused at once here instead of retried against the real feed.
        tk_syncfeed_url="http://127.0.0.1:9/SyncFeed/2.0",
        tk_max_retries=0,
        _env_file=None,  # type: ignore[call-arg]
    )
    key, known = asyncio.run(_prepare(app_settings, backend))
    app = create_app(app_settings)
    return {
        "schema": schemathesis.openapi.from_asgi("/openapi.json", app),
        "headers": {"Authorization": f"Bearer {key}"},
        "known": known,
    }


def _run(operation: Any, strategy: Any, headers: dict[str, str], examples: int) -> None:
    @given(case=strategy)
    @settings(
        max_examples=examples,
        deadline=None,
        derandomize=True,
        database=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    def run(case: Any) -> None:
        case.call_and_validate(headers=headers, checks=CHECKS)

    run()


def _summary(exc: BaseException) -> str:
    """The failures schemathesis found, one short line each (its reproduction commands can be kilobytes)."""
    found = [exc] if not isinstance(exc, BaseExceptionGroup) else list(exc.exceptions)
    lines = []
    for error in found:
        text = " | ".join(
            line.strip()
            for line in str(error).splitlines()
            if line.strip() and not line.strip().startswith("curl")
        )
        lines.append(f"{type(error).__name__}: {text[:400]}")
    return "\n".join(lines)


def test_api_honours_its_contract(contract: dict[str, Any]) -> None:
    """Every operation: its documented examples, then valid and invalid generated requests."""
    schema, headers = contract["schema"], contract["headers"]
    failures: dict[str, str] = {}
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) > 60
    for operation in operations:
        strategies = [*schema.get_strategies_from_examples(operation)]
        examples = len(strategies)
        positive = operation.as_strategy(generation_mode=GenerationMode.POSITIVE)
        strategies += [positive, operation.as_strategy(generation_mode=GenerationMode.NEGATIVE)]
        stored = _with_known_ids(operation, positive, contract["known"])
        if stored is not None:
            strategies.append(stored)
        try:
            for strategy in strategies[:examples]:
                _run(operation, strategy, headers, 1)
            _run(operation, st.one_of(strategies[examples:]), headers, MAX_EXAMPLES)
        except Exception as exc:  # noqa: BLE001 - collected, so one run reports every operation that fails
            failures[operation.label] = _summary(exc)
    assert not failures, "\n\n".join(f"{label}\n{message}" for label, message in failures.items())
