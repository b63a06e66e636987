"""`tk.toezegging.changed`: announced for a material change only (the TK's correction waves re-send entities
unchanged with a new `bijgewerkt`), with the commitments that follow the toezegging."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from shared.events.models import Event
from shared.tk.testing import toezegging
from tests.shared.tk.test_tk_sync import following_tz1, g


async def announced(session_factory: Any) -> list[dict[str, Any]]:
    async with session_factory() as s:
        found = (
            await s.execute(
                select(Event).where(Event.type == "tk.toezegging.changed").order_by(Event.txid, Event.id)
            )
        ).scalars()
        return [{"subject": e.subject, **e.payload} for e in found]


async def test_only_material_changes_are_announced(
    feed: Any, make_runner: Any, session_factory: Any, recalculations: Any
) -> None:
    queue, _ = recalculations
    commitment = await following_tz1(session_factory, "Volgt TZ-1")
    feed.add("Toezegging", toezegging(g(1), 1, nummer="TZ-1", bijgewerkt="2025-11-14T12:20:03+0100"))
    await make_runner(queue).run(["Toezegging"])
    [first] = await announced(session_factory)
    assert first == {
        "subject": "/v1/tk/toezeggingen/TZ-1",
        "nummer": "TZ-1",
        "toezegging_id": g(1),
        "deleted": False,
        "commitment_ids": [str(commitment.id)],
    }
    # the correction wave: the same content with a new bijgewerkt announces nothing
    feed.add("Toezegging", toezegging(g(1), 2, nummer="TZ-1", bijgewerkt="2026-02-01T00:00:00Z"))
    await make_runner(queue).run(["Toezegging"])
    assert len(await announced(session_factory)) == 1
    feed.add(
        "Toezegging", toezegging(g(1), 3, nummer="TZ-1", status="Voldaan", bijgewerkt="2026-03-01T00:00:00Z")
    )
    await make_runner(queue).run(["Toezegging"])
    assert [e["nummer"] for e in await announced(session_factory)] == ["TZ-1", "TZ-1"]
