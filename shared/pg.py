"""Raw asyncpg access for the hottest paths on PostgreSQL (commitment lists, signal intake).

An async SQLAlchemy session costs about 2 ms of CPU per request before any work is done (bench/api);
the hot paths run the *same* SQL, built and compiled by SQLAlchemy once per query shape, straight on an
asyncpg connection. Everything else keeps using sessions.

* `RawPool`: a plain asyncpg pool for production (no pre-ping and no reset query per request; a read that
  finds its connection dead is retried once on a fresh one, so a database restart costs no request).
* `JoinedConnection`: the driver connection under a SQLAlchemy connection, so tests (which run inside
  one rolled-back transaction) exercise the very same path and see their own rows.
* `ShapeCache` / `bound_values`: compile a Core statement once per shape (which filters are set, sort,
  cursor or not) and afterwards only look up the bind values by name. Every per-request value must be a
  *named* `bindparam`; an anonymous one would be frozen into the cached SQL, so it is refused loudly.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Hashable, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, Protocol, cast

import asyncpg
from sqlalchemy.dialects.postgresql.asyncpg import dialect as asyncpg_dialect
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
from sqlalchemy.sql import visitors
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.elements import BindParameter, ClauseElement

from shared.errors import ServiceUnavailable

# What a lost or refused connection looks like from asyncpg (server restarted, network gone, too many clients).
CONNECTION_ERRORS: tuple[type[BaseException], ...] = (
    OSError,
    asyncpg.exceptions.ConnectionDoesNotExistError,
    asyncpg.exceptions.InterfaceError,
    asyncpg.exceptions.PostgresConnectionError,
    asyncpg.exceptions.CannotConnectNowError,
    asyncpg.exceptions.AdminShutdownError,
    asyncpg.exceptions.TooManyConnectionsError,
    # The protocol lost its footing (seen during a server restart); the connection is not usable.
    asyncpg.exceptions.InternalClientError,
    asyncio.TimeoutError,
)


def is_connection_error(exc: BaseException) -> bool:
    """Whether `exc` (or what it wraps: SQLAlchemy's .orig, __cause__, __context__) says the database could
    not be reached or the connection broke, as opposed to a statement the database refused. The API answers
    the former with 503 + Retry-After (services/api/errors.py); jobs leave their work to be retried."""
    from sqlalchemy import exc as sa

    seen: set[int] = set()
    todo: list[BaseException | None] = [exc]
    while todo:
        current = todo.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, (ServiceUnavailable, sa.TimeoutError, *CONNECTION_ERRORS)):
            return True  # sa.TimeoutError: no pooled connection came free in time
        if isinstance(current, sa.DBAPIError) and (
            current.connection_invalidated or isinstance(current, (sa.OperationalError, sa.InterfaceError))
        ):
            return True
        todo += [getattr(current, "orig", None), current.__cause__, current.__context__]
    return False


_UNAVAILABLE = "The database is unavailable; nothing was changed. Retry shortly."


class RawDatabase(Protocol):
    def connection(self) -> Any:
        """An async context manager yielding an asyncpg connection."""

    async def fetch(self, sql: str, args: Iterable[Any]) -> list[asyncpg.Record]:
        """Run a read-only statement; connection failures become ServiceUnavailable (503)."""


def is_raw_capable(url: str) -> bool:
    return make_url(url).drivername == "postgresql+asyncpg"


async def _no_reset(_: asyncpg.Connection) -> None:
    """The hot paths never change session state (no SET, LISTEN or advisory locks); asyncpg still rolls
    back an open transaction on release, so the per-release RESET ALL round trip is skipped."""


class RawPool:
    def __init__(self, pool: asyncpg.Pool, size: int) -> None:
        self.pool = pool
        # First come, first served: asyncpg's pool lets a newly arrived request take a connection that was
        # just released to a waiting one, so under load a few requests wait very long (bench/api: p99 of
        # 400 ms at p50 25 ms with 50 clients on 10 connections). asyncio.Semaphore hands a freed slot to the
        # longest waiter.
        self._turns = asyncio.Semaphore(size)

    @classmethod
    async def open(cls, url: str, size: int) -> RawPool:
        dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
        # min_size=0: the API starts (and answers 503) while the database is down.
        pool = await asyncpg.create_pool(
            dsn,
            min_size=0,
            max_size=size,
            reset=_no_reset,
            max_inactive_connection_lifetime=300,
            # server-side: a client-side timeout costs a timer per query
            server_settings={"statement_timeout": "60s"},
        )
        return cls(pool, size)

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[asyncpg.Connection]:
        try:
            async with self._turns, self.pool.acquire() as conn:
                yield conn
        except CONNECTION_ERRORS as exc:
            raise ServiceUnavailable(_UNAVAILABLE) from exc

    async def fetch(self, sql: str, args: Iterable[Any]) -> list[asyncpg.Record]:
        args = list(args)
        for attempt in (1, 2):
            try:
                async with self._turns, self.pool.acquire() as conn:
                    return await conn.fetch(sql, *args)
            except CONNECTION_ERRORS as exc:
                # A read is safe to repeat; the pool drops the dead connection and opens a new one.
                if attempt == 2:
                    raise ServiceUnavailable(_UNAVAILABLE) from exc
        raise AssertionError("unreachable")

    async def close(self) -> None:
        await self.pool.close()


class JoinedConnection:
    """The asyncpg connection under `conn` (one at a time: asyncpg runs one statement per connection)."""

    def __init__(self, conn: AsyncConnection) -> None:
        self.conn = conn
        self._lock = asyncio.Lock()

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[asyncpg.Connection]:
        async with self._lock:
            raw = await self.conn.get_raw_connection()
            yield raw.driver_connection

    async def fetch(self, sql: str, args: Iterable[Any]) -> list[asyncpg.Record]:
        async with self.connection() as conn:
            return await conn.fetch(sql, *args)

    async def close(self) -> None:
        return None


async def driver_connection(session: AsyncSession) -> Any:
    """The asyncpg connection under a session, inside the session's transaction (SQLAlchemy begins its
    transaction lazily, on its first statement: a raw query before that would run outside it)."""
    conn = await session.connection()
    raw = (await conn.get_raw_connection()).driver_connection
    if not raw.is_in_transaction():  # type: ignore[union-attr]
        await conn.exec_driver_sql("SELECT 1")
    return raw


def bound_values(*clauses: ClauseElement | None) -> dict[str, Any]:
    """The values of the named bind parameters in `clauses`; refuses anonymous ones (see module doc)."""
    values: dict[str, Any] = {}
    for clause in clauses:
        if clause is None:
            continue
        for element in visitors.iterate(clause):
            if isinstance(element, BindParameter):
                if element.key.startswith("%("):
                    raise ValueError(
                        f"anonymous bind parameter in a cached shape: {element!r}; use bindparam(name, value)"
                    )
                values[element.key] = element.value
    return values


def inlined_values(*clauses: ClauseElement | None) -> tuple[tuple[str, Any], ...]:
    """The `literal_execute` binds of `clauses` by name: they are written into the SQL text (ShapeCache
    compiles with render_postcompile), so their values belong to the shape's key."""
    return tuple(
        sorted(
            {
                (element.key, element.value)
                for clause in clauses
                if clause is not None
                for element in visitors.iterate(clause)
                if isinstance(element, BindParameter) and element.literal_execute
            }
        )
    )


@dataclass(frozen=True)
class CompiledShape:
    sql: str
    names: tuple[str, ...]
    constants: dict[str, Any]
    processors: dict[str, Callable[[Any], Any]]

    def args(self, values: dict[str, Any]) -> list[Any]:
        out = []
        for name in self.names:
            value = values[name] if name in values else self.constants[name]
            processor = self.processors.get(name)
            out.append(processor(value) if processor is not None and value is not None else value)
        return out


class ShapeCache:
    """SQL text for asyncpg per query shape, compiled once by SQLAlchemy's own PostgreSQL compiler."""

    def __init__(self, size: int = 512) -> None:
        self.size = size
        self._dialect = asyncpg_dialect()
        # What SQLAlchemy learns on its first connection: standard_conforming_strings is on (the default
        # since PostgreSQL 9.1), so literals such as LIKE's ESCAPE '\\' keep single backslashes.
        self._dialect._backslash_escapes = False
        self._shapes: dict[Hashable, CompiledShape] = {}

    def get(self, key: Hashable, build: Callable[[], ClauseElement]) -> CompiledShape:
        shape = self._shapes.get(key)
        if shape is None:
            compiled = cast(
                SQLCompiler,
                build().compile(dialect=self._dialect, compile_kwargs={"render_postcompile": True}),
            )
            names = tuple(compiled.positiontup or ())
            shape = CompiledShape(
                sql=str(compiled),
                names=names,
                constants=dict(compiled.params),
                processors={
                    k: cast(Callable[[Any], Any], v)
                    for k, v in compiled._bind_processors.items()
                    if k in names
                },
            )
            if len(self._shapes) >= self.size:
                self._shapes.pop(next(iter(self._shapes)))
            self._shapes[key] = shape
        return shape


@asynccontextmanager
async def statement_scope(conn: asyncpg.Connection) -> AsyncIterator[asyncpg.Connection]:
    """Atomicity for one writing statement on a raw connection.

    On a pooled connection (autocommit) a statement is its own transaction already, so this costs nothing.
    Inside an open transaction (tests' JoinedConnection) a failing statement would abort the whole outer
    transaction, so there it runs in a savepoint that is rolled back on error.
    """
    if not conn.is_in_transaction():
        yield conn
        return
    await conn.execute("SAVEPOINT nakoming_statement")
    try:
        yield conn
    except BaseException:
        await conn.execute("ROLLBACK TO SAVEPOINT nakoming_statement")
        raise
    await conn.execute("RELEASE SAVEPOINT nakoming_statement")
