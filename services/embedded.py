"""Operations behind the CLI: seed loading, keys, and the embedded default (`nakoming run`)."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import structlog
from sqlalchemy import func, select

from shared.audit.service import Actor, record
from shared.auth.service import create_api_key, parse_scopes, revoke
from shared.commitments.models import Commitment
from shared.db import create_engine, create_session_factory, session_scope
from shared.migrate import upgrade
from shared.parties.models import Party
from shared.seed.loader import load_dataset
from shared.settings import Settings
from shared.signals.privacy import safe_text

log = structlog.get_logger("nakoming.embedded")


async def _with_session(settings: Settings, work: Any) -> Any:
    engine = create_engine(settings.database_url)
    try:
        async with session_scope(create_session_factory(engine)) as session:
            return await work(session)
    finally:
        await engine.dispose()


async def load_seed(settings: Settings) -> tuple[dict[str, int], dict[str, Any]]:
    """Load the seed dataset, then evaluate every status it may have changed, so nothing shows unevaluated."""
    added = await _with_session(settings, load_dataset)
    return added, await evaluate_statuses(settings)


async def evaluate_statuses(settings: Settings) -> dict[str, Any]:
    """A full recalculation as of today (it writes only what changed): after loading data or a migration."""
    from shared.status.inputs import Thresholds
    from shared.status.runner import recalculate_all

    engine = create_engine(settings.database_url)
    try:
        summary = await recalculate_all(
            create_session_factory(engine),
            Thresholds.from_settings(settings),
            batch_size=settings.recalc_batch_size,
        )
    finally:
        await engine.dispose()
    return summary.as_dict()


async def _party_id(session: Any, party: str | None) -> uuid.UUID | None:
    """A party named by id or by key (`--party`)."""
    if not party:
        return None
    try:
        return uuid.UUID(party)
    except ValueError:
        found = (await session.execute(select(Party.id).where(Party.key == party))).scalar()
        if found is None:
            raise SystemExit(f"no party with key {party!r}") from None
        return found


async def create_key(
    settings: Settings, *, name: str, scopes: str, party: str | None
) -> tuple[str, uuid.UUID]:
    async def work(session: Any) -> tuple[str, uuid.UUID]:
        key, raw = await create_api_key(
            session, name=name, scopes=parse_scopes(scopes), party_id=await _party_id(session, party)
        )
        return raw, key.id

    return await _with_session(settings, work)


CLI = Actor(name="nakoming cli")


async def create_client(
    settings: Settings, *, name: str, scopes: str, party: str | None, jwks: dict[str, Any] | None
) -> tuple[str, str | None]:
    """A new OAuth2 client: (client_id, secret or None when it authenticates with its JWKS)."""
    from shared.auth.clients import create_client as create

    async def work(session: Any) -> tuple[str, str | None]:
        client, secret = await create(
            session, name=name, scopes=scopes, party_id=await _party_id(session, party), jwks=jwks
        )
        await record(
            session,
            Actor(name=CLI.name, party_id=client.party_id, client_id=client.client_id),
            "oauth_clients.create",
            "oauth_clients",
            [client.id],
            detail={"name": safe_text(name), "scopes": client.scopes, "jwks": jwks is not None},
        )
        return client.client_id, secret

    return await _with_session(settings, work)


async def change_client(settings: Settings, client_id: str, action: str) -> str | bool | None:
    """`rotate` (the new secret, None without such a client) or `revoke` (whether one was revoked); audited."""
    from shared.auth.clients import revoke_client, rotate_secret

    async def work(session: Any) -> str | bool | None:
        result = await (rotate_secret if action == "rotate" else revoke_client)(session, client_id)
        if result:
            await record(
                session,
                Actor(name=CLI.name, client_id=client_id),
                f"oauth_clients.{action}",
                "oauth_clients",
                [client_id],
            )
        return result

    return await _with_session(settings, work)


async def list_clients(settings: Settings) -> list[dict[str, Any]]:
    from shared.auth.clients import list_clients as listed

    async def work(session: Any) -> list[dict[str, Any]]:
        return [
            {
                "client_id": c.client_id,
                "name": c.name,
                "scopes": ",".join(c.scopes),
                "party": str(c.party_id or "-"),
                "auth": "private_key_jwt" if c.jwks else "client_secret_basic",
                "revoked": c.revoked_at.isoformat() if c.revoked_at else "-",
            }
            for c in await listed(session)
        ]

    return await _with_session(settings, work)


async def revoke_key(settings: Settings, key_id: uuid.UUID) -> bool:
    return await _with_session(settings, lambda session: revoke(session, key_id))


async def purge_signals(settings: Settings) -> dict[str, int]:
    import datetime as dt

    from shared.signals.retention import purge_expired

    return await _with_session(
        settings, lambda session: purge_expired(session, dt.datetime.now(dt.UTC).date())
    )


async def process_signal_batch(settings: Settings, batch_id: uuid.UUID) -> str:
    from shared.db import create_engine, create_session_factory
    from shared.signals.batches import process_batch

    engine = create_engine(settings.database_url)
    try:
        batch = await process_batch(create_session_factory(engine), settings, batch_id)
    finally:
        await engine.dispose()
    if batch is None:
        return "no such batch"
    return (
        f"{batch.status}: accepted {batch.accepted}, duplicate {batch.duplicate}, rejected {batch.rejected}"
    )


async def prepare_embedded(settings: Settings) -> dict[str, int]:
    """Migrate, load the seed dataset when the database holds no commitments yet, then the bundled TK
    snapshot (offline, idempotent); the scheduled `tk.sync_all` goes live only when the feed answers."""
    from shared.status.inputs import Thresholds
    from shared.status.runner import recalculate_all
    from shared.tk.offline import prepare_tk

    engine = create_engine(settings.database_url)
    factory = create_session_factory(engine)
    try:
        await upgrade(engine)
        added: dict[str, int] = {}
        async with session_scope(factory) as session:
            count = (await session.execute(select(func.count()).select_from(Commitment))).scalar_one()
            if not count:
                added = await load_dataset(session)
                log.info("seed_loaded", **added)
        await prepare_tk(factory, settings)
        # Statuses are derived data: compute them now (seed just loaded, or dates moved since the last run)
        # rather than showing "not evaluated" until the nightly schedule.
        summary = await recalculate_all(
            factory, Thresholds.from_settings(settings), batch_size=settings.recalc_batch_size
        )
        log.info("statuses_recalculated", **summary.as_dict())
        return added
    finally:
        await engine.dispose()


def serve(settings: Settings, *, host: str, port: int) -> None:
    import uvicorn

    from services.api.app import create_app

    settings = settings.model_copy(update={"job_backend": "inprocess"})
    asyncio.run(prepare_embedded(settings))
    app = create_app(settings, run_schedules=True, handle_signals=True)
    log.info(
        "serving",
        url=f"http://{host}:{port}",
        docs=f"http://{host}:{port}/docs",
        database=settings.database_url,
    )
    from services.api.lifecycle import exit_zero_on_sigterm
    from services.api.protocol import HTTP_PROTOCOL

    exit_zero_on_sigterm()
    uvicorn.run(
        app,
        host=host,
        port=port,
        log_config=None,
        access_log=False,
        http=HTTP_PROTOCOL,
        timeout_graceful_shutdown=settings.shutdown_grace_seconds,
    )
