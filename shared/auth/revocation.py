"""The revocation epoch: one counter that every revocation or rotation of a key or client raises in the same
transaction. API processes watch it (services/api/revocation.py) and drop every credential they remembered when
it moves, so a revocation made anywhere (CLI, another process) is seen within one watch interval."""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from shared.auth.models import AuthEpoch


async def bump_epoch(session: AsyncSession) -> None:
    await session.execute(update(AuthEpoch).where(AuthEpoch.id == 1).values(value=AuthEpoch.value + 1))


async def read_epoch(conn: AsyncConnection | AsyncSession) -> int:
    return (await conn.execute(select(AuthEpoch.value).where(AuthEpoch.id == 1))).scalar() or 0
