"""The `nakoming` console script. Each command is a thin shell around shared/ and services/."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path
from typing import Annotated

import typer

from shared.logging import configure_logging
from shared.settings import get_settings

app = typer.Typer(
    help="Nakoming: follow-up of Dutch care policy.", no_args_is_help=True, pretty_exceptions_enable=False
)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
seed_app = typer.Typer(help="The bundled seed dataset.", no_args_is_help=True)
keys_app = typer.Typer(help="API keys.", no_args_is_help=True)
clients_app = typer.Typer(help="OAuth2 clients (systems that get access tokens).", no_args_is_help=True)
signals_app = typer.Typer(help="Client signals: batches and retention.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(seed_app, name="seed")
app.add_typer(keys_app, name="keys")
app.add_typer(clients_app, name="clients")
app.add_typer(signals_app, name="signals")


def _settings(*, migrated: bool = False):
    """The settings, logging configured; with `migrated`, a database whose schema is not at head ends the command
    with one line saying what to run (not a traceback, and no empty SQLite file left behind)."""
    settings = get_settings()
    configure_logging(settings.log_level, settings.log_json)
    if migrated:
        from shared.migrate import schema_problem

        problem = asyncio.run(schema_problem(settings.database_url))
        if problem:
            typer.echo(problem, err=True)
            raise typer.Exit(1)
    return settings


@db_app.command("check")
def db_check() -> None:
    """Exit 0 when NAKOMING_DATABASE_URL's schema is at this version's migrations head, else say why and exit 1
    (Kubernetes: the API's pods wait with it for the migration Job)."""
    _settings(migrated=True)
    typer.echo("database at heads")


@db_app.command("upgrade")
def db_upgrade(
    revision: str = typer.Argument("heads", help="Target revision (default: all heads)."),
    evaluate: Annotated[
        bool,
        typer.Option(
            "--evaluate/--no-evaluate",
            help="Then recalculate statuses whose rules or data changed (default on).",
        ),
    ] = True,
) -> None:
    """Apply the Alembic migrations to NAKOMING_DATABASE_URL, then bring every status up to the new rules."""
    from services.embedded import evaluate_statuses
    from shared.db import create_engine
    from shared.migrate import upgrade

    settings = _settings()

    async def run() -> None:
        engine = create_engine(settings.database_url)
        try:
            await upgrade(engine, revision)
        finally:
            await engine.dispose()

    asyncio.run(run())
    typer.echo(f"database at {revision}")
    if evaluate and revision == "heads":
        summary = asyncio.run(evaluate_statuses(settings))
        typer.echo(f"statuses evaluated: {summary['commitments']} commitments, {summary['changed']} changed")


@seed_app.command("load")
def seed_load() -> None:
    """Load the bundled seed dataset (idempotent), then evaluate the statuses it touched."""
    from services.embedded import load_seed

    counts, summary = asyncio.run(load_seed(_settings(migrated=True)))
    typer.echo(
        ", ".join(f"{k}: {v}" for k, v in counts.items())
        if counts
        else "seed data already loaded: nothing added"
    )
    typer.echo(f"statuses evaluated: {summary['commitments']} commitments, {summary['changed']} changed")


@keys_app.command("create")
def keys_create(
    name: Annotated[str, typer.Option("--name", help="Who or what uses the key.")],
    scopes: Annotated[
        str, typer.Option("--scopes", help="Comma list: read,write,signals:write,signals:read,admin")
    ],
    party: Annotated[str | None, typer.Option("--party", help="Bind the key to a party (id or key).")] = None,
) -> None:
    """Create an API key and print it once (only its hash is stored)."""
    from services.embedded import create_key
    from shared.errors import ValidationFailed

    try:
        raw, key_id = asyncio.run(create_key(_settings(migrated=True), name=name, scopes=scopes, party=party))
    except ValidationFailed as exc:  # unknown scopes, or a party that cannot hold a signals key
        typer.echo(exc.detail, err=True)
        raise typer.Exit(2) from None
    typer.echo(f"id: {key_id}")
    typer.echo(f"key: {raw}")
    typer.echo("Store the key now: it cannot be shown again.", err=True)


@keys_app.command("revoke")
def keys_revoke(key_id: Annotated[uuid.UUID, typer.Argument(help="The key's id.")]) -> None:
    """Revoke an API key."""
    from services.embedded import revoke_key

    if not asyncio.run(revoke_key(_settings(migrated=True), key_id)):
        typer.echo("no such active key", err=True)
        raise typer.Exit(1)
    typer.echo("revoked")


@clients_app.command("create")
def clients_create(
    name: Annotated[str, typer.Option("--name", help="The system that uses the client.")],
    scopes: Annotated[
        str, typer.Option("--scopes", help="Comma list: read,write,signals:write,signals:read,admin")
    ],
    party: Annotated[
        str | None, typer.Option("--party", help="Bind the client to a party (id or key).")
    ] = None,
    jwks_file: Annotated[
        Path | None,
        typer.Option(
            "--jwks-file",
            help="The client's public JWKS: it authenticates with private_key_jwt, without a secret.",
            exists=True,
            dir_okay=False,
        ),
    ] = None,
) -> None:
    """Create an OAuth2 client and print its client_id and secret once (only the secret's hash is stored)."""
    import json

    from services.embedded import create_client
    from shared.errors import ValidationFailed

    jwks = json.loads(jwks_file.read_text()) if jwks_file else None
    try:
        client_id, secret = asyncio.run(
            create_client(_settings(migrated=True), name=name, scopes=scopes, party=party, jwks=jwks)
        )
    except ValidationFailed as exc:
        typer.echo(exc.detail, err=True)
        raise typer.Exit(2) from None
    typer.echo(f"client_id: {client_id}")
    if secret is not None:
        typer.echo(f"client_secret: {secret}")
        typer.echo("Store the secret now: it cannot be shown again.", err=True)


@clients_app.command("rotate")
def clients_rotate(client_id: Annotated[str, typer.Argument(help="The client's client_id.")]) -> None:
    """Give a client a new secret (printed once); the old secret and its tokens stop working."""
    from services.embedded import change_client

    secret = asyncio.run(change_client(_settings(migrated=True), client_id, "rotate"))
    if not secret:
        typer.echo("no such active client", err=True)
        raise typer.Exit(1)
    typer.echo(f"client_secret: {secret}")


@clients_app.command("revoke")
def clients_revoke(client_id: Annotated[str, typer.Argument(help="The client's client_id.")]) -> None:
    """Revoke a client: its secret and every token it holds stop working."""
    from services.embedded import change_client

    if not asyncio.run(change_client(_settings(migrated=True), client_id, "revoke")):
        typer.echo("no such active client", err=True)
        raise typer.Exit(1)
    typer.echo("revoked")


@clients_app.command("list")
def clients_list() -> None:
    """The OAuth2 clients, one line each (never their secrets)."""
    from services.embedded import list_clients

    for client in asyncio.run(list_clients(_settings(migrated=True))):
        typer.echo("  ".join(f"{k}={v}" for k, v in client.items()))


@clients_app.command("signing-key")
def clients_signing_key(
    kid: Annotated[
        str, typer.Option("--kid", help="The key's id (tokens name it), e.g. the month: 2026-12.")
    ],
) -> None:
    """Print a new private signing key as a JWKS, for NAKOMING_OAUTH_SIGNING_KEYS (put it first to sign with it;
    keep the previous key after it until its tokens have expired)."""
    import json

    from shared.auth.tokens import generate_jwk

    typer.echo(json.dumps({"keys": [generate_jwk(kid)]}))


@signals_app.command("purge")
def signals_purge() -> None:
    """Delete signals past their retention date now (what the nightly job does); audited by count."""
    from services.embedded import purge_signals

    counts = asyncio.run(purge_signals(_settings(migrated=True)))
    typer.echo(", ".join(f"{k}: {v}" for k, v in counts.items()))


@signals_app.command("process-batch")
def signals_process_batch(batch_id: Annotated[uuid.UUID, typer.Argument(help="The batch's id.")]) -> None:
    """Process (or resume) an uploaded batch in this process, e.g. after a worker outage."""
    from services.embedded import process_signal_batch

    typer.echo(asyncio.run(process_signal_batch(_settings(migrated=True), batch_id)))


@app.command("recalc")
def recalc(
    all_: Annotated[bool, typer.Option("--all", help="Recalculate every commitment.")] = False,
    commitment: Annotated[uuid.UUID | None, typer.Option("--commitment", help="One commitment's id.")] = None,
    as_of: Annotated[
        str | None,
        typer.Option(
            "--as-of",
            help="With --commitment: print the status as of this date (YYYY-MM-DD); stores nothing.",
        ),
    ] = None,
) -> None:
    """Recalculate and store statuses as of today (synchronously); --as-of previews one commitment."""
    import datetime as dt
    import json

    from shared.status.runner import recalc as run_recalc

    if all_ == (commitment is not None):
        raise typer.BadParameter("give exactly one of --all and --commitment ID")
    if as_of and all_:
        raise typer.BadParameter("--as-of previews one commitment: use it with --commitment ID")
    try:
        day = dt.date.fromisoformat(as_of) if as_of else None
    except ValueError as exc:
        raise typer.BadParameter(f"--as-of must be YYYY-MM-DD, not {as_of!r}") from exc
    result = asyncio.run(run_recalc(_settings(migrated=True), commitment_id=commitment, as_of=day))
    typer.echo(json.dumps(result, indent=2, ensure_ascii=False))
    if result.get("found") is False:
        raise typer.Exit(1)


@app.command("run")
def run(
    host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to bind.")] = 8000,
) -> None:
    """Embedded default: migrate, load the seed data if empty, serve the API and run jobs in-process."""
    from services.embedded import serve

    serve(_settings(), host=host, port=port)


@app.command("serve")
def serve_api(
    host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to bind.")] = 8000,
    workers: Annotated[int, typer.Option(help="Worker processes.")] = 1,
) -> None:
    """Serve the API only (production: jobs go to Redis for `nakoming worker`). SIGTERM: readiness false, no new
    connections, in-flight requests finish within NAKOMING_SHUTDOWN_GRACE_SECONDS, exit 0."""
    import uvicorn

    settings = _settings()
    from services.api.lifecycle import exit_zero_on_sigterm
    from services.api.protocol import HTTP_PROTOCOL

    exit_zero_on_sigterm()
    uvicorn.run(
        "services.api.app:asgi",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_config=None,
        access_log=False,
        proxy_headers=True,
        http=HTTP_PROTOCOL,
        timeout_graceful_shutdown=settings.shutdown_grace_seconds,
    )


@app.command("sync")
def sync(
    category: Annotated[
        list[str] | None,
        typer.Option(
            "--category",
            "-c",
            help="Category to sync (repeatable); all when omitted: Kamerstukdossier, Zaak, Activiteit, Toezegging, Document.",
        ),
    ] = None,
    progress: Annotated[bool, typer.Option("--progress/--no-progress", help="Show the progress bar.")] = True,
) -> None:
    """Sync the TK SyncFeed mirror now, in this process (the same job the worker runs)."""
    from rich.console import Console

    from services.sync import FeedUnreachable, run_sync, summary_table

    try:
        summaries = asyncio.run(run_sync(_settings(migrated=True), category, show_progress=progress))
    except ValueError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from None
    except FeedUnreachable as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(1) from None
    import sys

    Console(width=None if sys.stdout.isatty() else 160).print(summary_table(summaries))
    for summary in summaries:
        if summary.error:
            typer.echo(f"{summary.category}: {summary.error}", err=True)
    if any(s.status == "failed" for s in summaries):
        raise typer.Exit(1)


@app.command("doctor")
def doctor() -> None:
    """Check this deployment: database, migrations, Redis, worker heartbeat, pseudonym key, TK feed, clocks.
    One line per check; exit 1 when one failed."""
    from services.doctor import run_checks

    settings = get_settings()
    configure_logging("WARNING", settings.log_json)
    checks = asyncio.run(run_checks(settings))
    for check in checks:
        typer.echo(check.line())
    if any(check.outcome == "FAIL" for check in checks):
        raise typer.Exit(1)


@app.command("worker")
def worker() -> None:
    """Run the arq worker (jobs and schedules) against NAKOMING_REDIS_URL."""
    from arq.worker import get_kwargs

    from services.worker.settings import WorkerSettings
    from services.worker.worker import NakomingWorker

    _settings()
    NakomingWorker(**get_kwargs(WorkerSettings)).run()  # type: ignore[arg-type]


def main() -> None:
    app()


if __name__ == "__main__":
    main()
