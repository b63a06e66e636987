"""Which commitments a batch of newly received client signals can change: those the signals are linked to, and
those owned by, or naming as subject, a party the signals are about (provider party, AGB code or zorgkantoor
code) that share one of the signals' themes. A periodic job recalculates them (signal intake itself stays one
statement), so a rise shows within a minute instead of at the nightly run."""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import and_, or_, select, union
from sqlalchemy.ext.asyncio import AsyncSession

from shared.commitments.models import Commitment, commitment_subject_parties, commitment_themes
from shared.db import utcnow
from shared.parties.models import Party
from shared.signals.models import ClientSignal, client_signal_commitments, client_signal_themes
from shared.status.models import Checkpoint

MARGIN = dt.timedelta(minutes=2)  # signals committed by transactions that began before the last sweep
SWEEP = "status.signals_sweep"


async def concerned_commitments(session: AsyncSession, since: dt.datetime) -> list[uuid.UUID]:
    s, st, sc = ClientSignal.__table__.c, client_signal_themes.c, client_signal_commitments.c
    p, c, ct, sp = (
        Party.__table__.c,
        Commitment.__table__.c,
        commitment_themes.c,
        commitment_subject_parties.c,
    )
    new = (
        select(s.id, s.provider_party_id, s.provider_agb, s.zorgkantoor_code)
        .where(s.created_at > since)
        .subquery()
    )
    parties = (
        select(new.c.id.label("signal_id"), p.id.label("party_id"))
        .select_from(new)
        .join(
            Party.__table__,
            or_(
                p.id == new.c.provider_party_id,
                and_(p.agb_code.isnot(None), p.agb_code == new.c.provider_agb),
                and_(p.zorgkantoor_code.isnot(None), p.zorgkantoor_code == new.c.zorgkantoor_code),
            ),
        )
        .subquery()
    )
    themed = (
        select(parties.c.party_id, st.theme_key)
        .select_from(parties)
        .join(client_signal_themes, st.signal_id == parties.c.signal_id)
        .distinct()
        .subquery()
    )
    owned = (
        select(c.id)
        .join(themed, c.owner_party_id == themed.c.party_id)
        .join(commitment_themes, and_(ct.commitment_id == c.id, ct.theme_key == themed.c.theme_key))
    )
    subject = (
        select(sp.commitment_id)
        .join(themed, sp.party_id == themed.c.party_id)
        .join(
            commitment_themes, and_(ct.commitment_id == sp.commitment_id, ct.theme_key == themed.c.theme_key)
        )
    )
    linked = select(sc.commitment_id).join(new, sc.signal_id == new.c.id)
    found = union(owned, subject, linked).subquery()
    return sorted((await session.execute(select(found.c[0]))).scalars().all())


async def sweep(session: AsyncSession) -> list[uuid.UUID]:
    """The commitments concerned by signals received since the last sweep (with a margin); moves the checkpoint."""
    now = utcnow()
    checkpoint = await session.get(Checkpoint, SWEEP)
    since = (checkpoint.at if checkpoint is not None else now - dt.timedelta(days=1)) - MARGIN
    ids = await concerned_commitments(session, since)
    if checkpoint is None:
        session.add(Checkpoint(name=SWEEP, at=now))
    else:
        checkpoint.at = now
    await session.flush()
    return ids
