"""Database plumbing: declarative base, engine and session factories, column helpers.

Engines are created by the caller (API lifespan, worker on_startup, CLI), never at import time.
"""

from __future__ import annotations

import datetime as dt
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from typing import Any, ClassVar, cast

from sqlalchemy import JSON, CursorResult, DateTime, MetaData, Result, Table, TypeDecorator, event, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase, Mapped, declared_attr, mapped_column

from shared.pg import is_connection_error

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class UTCDateTime(TypeDecorator[dt.datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite stores naive text)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(dt.UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: dt.datetime | None, dialect: Any) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    # Every model here maps one Table (no joined or select mappings), so Core statements may take `__table__`.
    __table__: ClassVar[Table]  # DeclarativeBase types it as the wider FromClause
    type_annotation_map = {dt.datetime: UTCDateTime, dict[str, Any]: JSON, list[Any]: JSON}


class TimestampMixin:
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    updated_at: Mapped[dt.datetime] = mapped_column(
        UTCDateTime, default=utcnow, onupdate=utcnow, nullable=False
    )


class VersionedMixin(TimestampMixin):
    """Optimistic concurrency: `version` feeds the ETag and guards concurrent UPDATEs."""

    version: Mapped[int] = mapped_column(nullable=False, default=1)

    @declared_attr.directive
    def __mapper_args__(cls) -> dict[str, Any]:
        return {"version_id_col": cls.version}


def rowcount(result: Result[Any]) -> int:
    """Rows an UPDATE or DELETE touched: executing DML gives a CursorResult, which the session's types hide."""
    return cast(CursorResult[Any], result).rowcount


def new_id() -> uuid.UUID:
    return uuid.uuid4()


def new_ids(count: int) -> Iterator[uuid.UUID]:
    """`count` ids like new_id()'s (random, version 4) from one read of the system's randomness, for rows made
    in bulk: uuid4() makes a system call per id (~4 us each on a busy machine, ~8 us while another thread holds
    the GIL; this: ~2 and ~4)."""
    data = os.urandom(16 * count)
    return (uuid.UUID(bytes=data[i : i + 16], version=4) for i in range(0, 16 * count, 16))


SEED_NAMESPACE = uuid.UUID("5f0f7c1e-4d52-4b0a-9a51-6e616b6f6d69")


def seed_id(section: str, key: str) -> uuid.UUID:
    """Stable id for a seed record: loading the dataset twice yields the same rows."""
    return uuid.uuid5(SEED_NAMESPACE, f"{section}:{key}")


def _sqlite_pragmas(engine: AsyncEngine) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy own transactions so SAVEPOINTs work (the pysqlite driver would otherwise
        # begin transactions lazily behind our back).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=10000")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.get_execution_options().get(IMMEDIATE) else "BEGIN")


# Sessions on SQLite begin IMMEDIATE: a transaction takes SQLite's one write lock when it begins, waiting for
# it up to busy_timeout. A deferred transaction that reads first and writes later cannot wait: when another
# connection wrote in between (an in-process job storing a recalculation), its upgrade fails at once with
# "database is locked" (SQLITE_BUSY_SNAPSHOT), which a request answered with a 503. The price: the sessions of
# a process take turns, reads included; the embedded default (one user, short transactions) can afford that.
# Plain connections (readiness probe, migrations) begin deferred and read beside them (WAL mode).
IMMEDIATE = "nakoming_sqlite_immediate"


def create_engine(url: str, *, pool_size: int = 10, echo: bool = False) -> AsyncEngine:
    kwargs: dict[str, Any] = {"echo": echo, "pool_pre_ping": True}
    if url.startswith("sqlite"):
        engine = create_async_engine(url, **kwargs)
        _sqlite_pragmas(engine)
        return engine
    kwargs.update(pool_size=pool_size, max_overflow=pool_size, pool_recycle=1800)
    return create_async_engine(url, **kwargs)


def create_session_factory(engine: AsyncEngine | Any) -> async_sessionmaker[AsyncSession]:
    if isinstance(engine, AsyncEngine) and engine.dialect.name == "sqlite":
        engine = engine.execution_options(**{IMMEDIATE: True})
    return async_sessionmaker(engine, expire_on_commit=False, autoflush=False)


@asynccontextmanager
async def session_scope(factory: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    """One commit/rollback boundary (for jobs and CLI commands)."""
    async with factory() as session:
        try:
            yield session
            await session.commit()
        except BaseException:
            await session.rollback()
            raise


# Whether `exc` means the database cannot be reached (down, restarting, connection lost, SQLite busy) rather than a
# problem with the statement or the data: worth waiting for, not worth failing a job for. One definition, shared
# with the API's 503 answers.
database_unavailable = is_connection_error


async def database_reachable(engine: AsyncEngine) -> bool:
    try:
        async with engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
        return True
    except Exception as exc:
        if database_unavailable(exc):
            return False
        raise
