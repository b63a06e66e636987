"""Loaders against real tables: the TK mirror, client signals, milestones under actions; the seed dataset."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import pytest
from sqlalchemy import insert, select

from shared.actions.models import Action
from shared.commitments.models import Commitment, commitment_subject_parties
from shared.db import seed_id, utcnow
from shared.milestones.models import Measurement, Milestone
from shared.parties.models import Party
from shared.seed.loader import load_dataset
from shared.signals.models import ClientSignal, client_signal_commitments, client_signal_themes
from shared.status.inputs import Thresholds
from shared.status.loaders_signals import build_signal_index, party_refs
from shared.status.models import StatusHistory
from shared.status.runner import recalculate_all
from shared.status.service import Changes, StatusService
from shared.themes.models import Theme
from shared.tk.models import TkDocument, TkToezegging

AS_OF = dt.date(2026, 11, 23)
T = Thresholds()


async def commitment(session: Any, **kw: Any) -> Commitment:
    obj = Commitment(title="Toezegging", **kw)
    session.add(obj)
    await session.flush()
    return obj


async def test_tk_link_follows_the_mirror(session: Any) -> None:
    letter_id = uuid.uuid4()
    session.add(
        TkDocument(
            id=letter_id,
            nummer="2026D41234",
            titel="Nakoming toezegging",
            datum=dt.date(2026, 10, 1),
            bijgewerkt=utcnow(),
        )
    )
    session.add(
        TkToezegging(
            id=uuid.uuid4(),
            nummer="TZ202511-041",
            status="Voldaan",
            kamerbrief_nakoming="2026D41234",
            kamerbrief_document_id=letter_id,
            bijgewerkt=utcnow(),
            datum_nakoming=dt.date(2026, 1, 1),
        )
    )
    # an older, removed row for the same nummer does not win
    session.add(
        TkToezegging(
            id=uuid.uuid4(),
            nummer="TZ202511-041",
            status="Vervallen",
            verwijderd=True,
            bijgewerkt=utcnow() - dt.timedelta(days=5),
        )
    )
    session.add(
        TkToezegging(
            id=uuid.uuid4(),
            nummer="TZ202511-042",
            status="Ingetrokken?",
            bijgewerkt=utcnow(),
            datum_nakoming=dt.date(2026, 1, 1),
        )
    )
    fulfilled = await commitment(session, tk_toezegging_nummer="TZ202511-041")
    odd = await commitment(session, tk_toezegging_nummer="TZ202511-042")
    missing = await commitment(session, tk_toezegging_nummer="TZ202511-043")
    outcome = await StatusService(session, T).recalculate([fulfilled.id, odd.id, missing.id], AS_OF)
    got = outcome.evaluations
    assert (got[fulfilled.id].status, got[fulfilled.id].source_status) == ("fulfilled", "Voldaan")
    letter = [e for e in got[fulfilled.id].reasons[0].evidence if e["type"] == "tk_document"]
    assert letter == [
        {
            "type": "tk_document",
            "id": str(letter_id),
            "path": f"/v1/tk/documents/{letter_id}",
            "nummer": "2026D41234",
            "titel": "Nakoming toezegging",
            "datum": "2026-10-01",
            "sample": False,
        }
    ]
    assert (got[odd.id].status, got[odd.id].schedule, got[odd.id].source_status) == (
        "off_track",
        "overdue",
        "Ingetrokken?",
    )  # TK deadline applies; the raw status is kept and reported
    assert any(r.code == "tk.unreadable" and "Ingetrokken?" in r.message for r in got[odd.id].reasons)
    assert got[missing.id].status == "open" and got[missing.id].reasons[0].code == "tk.not_mirrored"
    stored = (
        await session.execute(select(Commitment.source_status).where(Commitment.id == odd.id))
    ).scalar_one()
    assert stored == "Ingetrokken?"


async def _signal(
    session: Any,
    received: dt.date,
    *,
    theme: str | None = None,
    provider: Any = None,
    commitment_id: Any = None,
    agb: str | None = None,
    zorgkantoor: str | None = None,
) -> None:
    signal_id = uuid.uuid4()
    await session.execute(
        insert(ClientSignal.__table__).values(
            id=signal_id,
            source_system="test",
            external_id=str(signal_id),
            kind="klacht",
            received_date=received,
            provider_party_id=provider,
            provider_agb=agb,
            zorgkantoor_code=zorgkantoor,
            retention_date=received + dt.timedelta(days=3650),
            anonymous=False,
            status="ontvangen",
            extension_recorded=False,
            created_at=utcnow(),
            updated_at=utcnow(),
        )
    )
    if theme:
        await session.execute(
            insert(client_signal_themes).values(signal_id=signal_id, theme_key=theme, received_date=received)
        )
    if commitment_id:
        await session.execute(
            insert(client_signal_commitments).values(signal_id=signal_id, commitment_id=commitment_id)
        )


async def test_signal_rise_on_themes_owner_and_subject_parties(session: Any) -> None:
    """A signal counts when linked, or about the owner or a subject party (party, AGB or zorgkantoor code) on
    one of the commitment's themes; each signal once."""
    theme = Theme(key="sociale-veiligheid", label_nl="Sociale veiligheid", label_en="Social safety")
    fokus = Party(name="Fokus", kind="provider", agb_code="12345678")
    vws = Party(name="VWS", kind="ministry")
    zk = Party(name="Zorgkantoor", kind="zorgkantoor", zorgkantoor_code="5501")
    other = Party(name="Ander", kind="provider")
    session.add_all([theme, fokus, vws, zk, other])
    await session.flush()
    owned = await commitment(session, owner_party_id=fokus.id, themes=[theme])
    about = await commitment(
        session, owner_party_id=vws.id, themes=[theme]
    )  # VWS' supervision concerns Fokus
    await session.execute(
        insert(commitment_subject_parties).values(commitment_id=about.id, party_id=fokus.id)
    )
    nobody = await commitment(session, themes=[theme])  # no owner, no subject: only linked signals count
    regional = await commitment(session, owner_party_id=zk.id, themes=[theme])
    linked = await commitment(session)
    for day in range(6):  # a burst in the last 30 days at Fokus, by party
        await _signal(
            session, AS_OF - dt.timedelta(days=day * 3), theme="sociale-veiligheid", provider=fokus.id
        )
    for day in range(2):  # ... and by AGB code only
        await _signal(session, AS_OF - dt.timedelta(days=day), theme="sociale-veiligheid", agb="12345678")
    for day in range(3):  # other providers, and an old baseline
        await _signal(session, AS_OF - dt.timedelta(days=day), theme="sociale-veiligheid", provider=other.id)
    for day in range(7):  # in the zorgkantoor's region
        await _signal(session, AS_OF - dt.timedelta(days=day), theme="sociale-veiligheid", zorgkantoor="5501")
    await _signal(session, AS_OF - dt.timedelta(days=100), theme="sociale-veiligheid", provider=fokus.id)
    await _signal(
        session, AS_OF + dt.timedelta(days=1), theme="sociale-veiligheid", provider=fokus.id
    )  # after as_of
    for day in range(6):
        await _signal(session, AS_OF - dt.timedelta(days=day), commitment_id=linked.id)
    ids = [owned.id, about.id, nobody.id, regional.id, linked.id]
    outcome = await StatusService(session, T).recalculate(ids, AS_OF)
    got = outcome.evaluations
    for c in (owned, about):
        [rise] = [r for r in got[c.id].reasons if r.rule == "signals"]
        assert (rise.evidence[0]["recent"], rise.evidence[0]["baseline"]) == (
            8,
            None,
        )  # 1 is below the min cell
        assert got[c.id].status == "at_risk"
    [rise] = [r for r in got[about.id].reasons if r.rule == "signals"]
    assert {p["party_id"]: p["recent"] for p in rise.evidence[0]["parties"]} == {
        str(vws.id): 0,
        str(fokus.id): 8,
    }
    assert all(r.rule != "signals" for r in got[nobody.id].reasons)
    assert got[regional.id].status == "at_risk" and got[linked.id].status == "at_risk"
    # The full-run index and a single recalculation's restricted index agree.
    full = await build_signal_index(session, AS_OF, T)
    parties = {p.id: party_refs(p.id, p.agb_code, p.zorgkantoor_code) for p in (fokus, vws, zk)}
    cases = (
        (owned, [fokus.id]),
        (about, [vws.id, fokus.id]),
        (nobody, []),
        (regional, [zk.id]),
        (linked, []),
    )
    for c, party_ids in cases:
        themes = [] if c is linked else ["sociale-veiligheid"]
        refs = [parties[p] for p in party_ids]
        single = await build_signal_index(
            session, AS_OF, T, themes=themes, parties=refs, commitment_ids=[c.id]
        )
        assert full.counts(c.id, themes, refs) == single.counts(c.id, themes, refs)
    # 40 days later the burst is baseline: no rise any more
    later = await StatusService(session, T).recalculate([owned.id], AS_OF + dt.timedelta(days=40))
    assert all(r.rule != "signals" for r in later.evaluations[owned.id].reasons)


async def test_action_milestones_count_and_history_is_written_once(session: Any) -> None:
    owner = await commitment(session)
    action = Action(title="Programma", commitment_id=owner.id, state="in_progress", last_update_date=AS_OF)
    session.add(action)
    await session.flush()
    milestone = Milestone(
        title="Helft in dienst",
        action_id=action.id,
        due_date=dt.date(2026, 7, 1),
        target_value=50,
        indicator_unit="percent",
    )
    session.add(milestone)
    await session.flush()
    session.add(Measurement(milestone_id=milestone.id, date=dt.date(2026, 6, 1), value=40))
    await session.flush()
    svc = StatusService(session, T)
    first = await svc.recalculate([owner.id], AS_OF)
    assert first.evaluations[owner.id].status == "off_track" and first.changed == 1
    assert first.evaluations[owner.id].milestones == {str(milestone.id): "missed"}
    again = await svc.recalculate([owner.id], AS_OF)
    assert again.changed == 0 and again.milestones_changed == 0
    count = len(
        (await session.execute(select(StatusHistory).where(StatusHistory.commitment_id == owner.id))).all()
    )
    assert count == 1
    version = (
        await session.execute(select(Commitment.version).where(Commitment.id == owner.id))
    ).scalar_one()
    assert version == 1


async def test_seed_dataset_full_recalculation(session_factory: Any) -> None:
    async with session_factory() as s:
        await load_dataset(s)
        await s.commit()
    summary = await recalculate_all(session_factory, T, as_of=AS_OF, batch_size=7)
    assert summary.commitments >= 25 and summary.changed == summary.commitments
    async with session_factory() as s:
        fokus = await s.get(Commitment, seed_id("commitments", "fokus-zzp-afbouw-2026-07-01"))
        milestone = await s.get(Milestone, seed_id("milestones", "fokus-adl-in-loondienst-2026-07-01"))
        assert fokus is not None and milestone is not None
        # Due 2026-07-01, no measurement, evaluated 2026-11-23: not on track.
        assert fokus.status == "off_track" and fokus.schedule == "overdue"
        assert milestone.status == "missed"
        assert any(
            r["rule"] == "milestone" and str(milestone.id) == r["evidence"][0]["id"] for r in fokus.reasons
        )
        statuses = set((await s.execute(select(Commitment.status))).scalars())
        assert statuses <= {
            "open",
            "on_track",
            "at_risk",
            "off_track",
            "fulfilled",
            "partially_fulfilled",
            "lapsed",
            "unknown",
        }
        assert (
            await s.execute(select(Commitment.id).where(Commitment.evaluated_at.is_(None)))
        ).first() is None
    again = await recalculate_all(session_factory, T, as_of=AS_OF, batch_size=100)
    assert (again.changed, again.milestones_changed, again.recommendations_changed) == (0, 0, 0)


@pytest.mark.postgres_only
async def test_stale_write_loses_the_compare_and_set(session: Any) -> None:
    from shared.status.service import _write_postgresql

    owner = await commitment(session, due_date=dt.date(2001, 1, 1))
    first = await StatusService(session, T).recalculate([owner.id], AS_OF)
    assert first.changed == 1
    stale = {
        "b_id": owner.id,
        "b_status": "open",
        "b_schedule": "on_time",
        "b_source_status": None,
        "b_reasons": [],
        "b_digest": "x" * 40,
        "b_old_digest": None,
        "b_history": True,
    }  # read before the write
    history = [
        {
            "commitment_id": owner.id,
            "status": "open",
            "schedule": "on_time",
            "source_status": None,
            "reasons": [],
            "as_of": AS_OF,
        }
    ]
    await _write_postgresql(session, Changes([stale], history, []), AS_OF, utcnow())
    row = (
        await session.execute(
            select(Commitment.status, Commitment.reasons_digest).where(Commitment.id == owner.id)
        )
    ).one()
    assert row.status == "off_track" and row.reasons_digest != "x" * 40
    count = len(
        (await session.execute(select(StatusHistory).where(StatusHistory.commitment_id == owner.id))).all()
    )
    assert count == 1


async def test_loaded_summaries_equal_the_points(session: Any) -> None:
    """On PostgreSQL the database summarises the measurements; on SQLite they come as points. Either way the
    milestone rule reads the same summary (dates after as_of left out, milestones under actions included)."""
    from shared.status import rules
    from shared.status.inputs import MeasurementInput, MilestoneInput
    from shared.status.loaders import load_batch

    owner = await commitment(session, due_date=dt.date(2027, 1, 1))
    action = Action(title="Werving", commitment_id=owner.id, state="in_progress")
    session.add(action)
    await session.flush()
    own = Milestone(
        title="Eigen",
        commitment_id=owner.id,
        due_date=dt.date(2027, 1, 1),
        target_value=100,
        baseline_value=40,
        baseline_date=dt.date(2025, 1, 1),
        indicator_unit="percent",
    )
    via = Milestone(
        title="Via actie",
        action_id=action.id,
        due_date=dt.date(2026, 12, 1),
        target_value=10,
        baseline_value=50,
        baseline_date=dt.date(2025, 6, 1),
        direction="decrease",
        indicator_unit="n",
    )
    # Past its due date: the latest by the due date falls short, a later one reaches the target (met, late) ...
    late = Milestone(
        title="Laat",
        commitment_id=owner.id,
        due_date=dt.date(2026, 6, 1),
        target_value=0,
        baseline_value=30,
        baseline_date=dt.date(2025, 6, 1),
        direction="decrease",
        indicator_unit="n",
    )
    # ... and one whose latest measurement by the due date met it, with a later dip that does not undo that.
    kept = Milestone(
        title="Gehaald",
        commitment_id=owner.id,
        due_date=dt.date(2026, 6, 1),
        target_value=80,
        baseline_value=30,
        baseline_date=dt.date(2025, 6, 1),
        indicator_unit="percent",
    )
    session.add_all([own, via, late, kept])
    await session.flush()
    points = {
        own.id: [
            (dt.date(2025, 3, 1), 45.5),
            (dt.date(2025, 9, 1), 52.25),
            (dt.date(2026, 2, 1), 61.0),
            (dt.date(2026, 12, 1), 99.0),
        ],  # after as_of: not seen
        via.id: [(dt.date(2026, 1, 1), 41.0)],
        late.id: [
            (dt.date(2026, 5, 1), 4.0),
            (dt.date(2026, 6, 1), 2.0),
            (dt.date(2026, 8, 1), 3.0),
            (dt.date(2026, 9, 1), 0.0),
            (dt.date(2026, 10, 1), 0.0),
        ],
        kept.id: [(dt.date(2026, 5, 20), 85.0), (dt.date(2026, 7, 1), 60.0)],
    }
    ids: dict[Any, str] = {}
    for mid, series in points.items():
        for day, value in series:
            measurement = Measurement(id=uuid.uuid4(), milestone_id=mid, date=day, value=value)
            session.add(measurement)
            ids[(mid, day)] = str(measurement.id)
    await session.flush()
    batch = await load_batch(session, [owner.id], AS_OF, T)
    loaded = {m.id: m for m in batch.inputs[owner.id].milestones}
    assert set(loaded) == {str(own.id), str(via.id), str(late.id), str(kept.id)}
    for mid, series in points.items():
        got = loaded[str(mid)]
        expected = got._replace(
            measurements=tuple(MeasurementInput(d, v, ids[(mid, d)]) for d, v in series), summary=None
        )
        want, have = rules.summarise(expected, AS_OF), rules.summarise(got, AS_OF)
        assert have[:6] == want[:6]  # upto, n, latest date and value, sums of x and x*x: exact
        assert have.sy == pytest.approx(want.sy) and have.sxy == pytest.approx(want.sxy)
        assert [str(v) if isinstance(v, uuid.UUID) else v for v in have[8:]] == list(
            want[8:]
        )  # the latest, the latest by the due date and the first late one reaching it
        assert rules.milestone(got, AS_OF) == rules.milestone(expected, AS_OF)
    assert rules.milestone(loaded[str(late.id)], AS_OF)[1][0].params["late"]
    assert rules.milestone(loaded[str(kept.id)], AS_OF)[0] == "met"
    assert isinstance(loaded[str(via.id)], MilestoneInput) and loaded[str(via.id)].decreasing


@pytest.mark.postgres_only
async def test_full_run_overlapping_batches_on_an_engine(engine: Any) -> None:
    """With an engine (a connection per session) a full run stores one batch while it evaluates the next;
    the stored results are those of a run that takes turns. Commits for real, so it cleans up after itself."""
    from shared.db import create_session_factory

    factory = create_session_factory(engine)
    ids: list[uuid.UUID] = []
    try:
        async with factory() as s:
            for i in range(23):
                c = await commitment(s, due_date=dt.date(2026, 1, 1) + dt.timedelta(days=30 * i))
                ids.append(c.id)
                s.add(
                    Action(
                        title="Actie",
                        commitment_id=c.id,
                        state=("blocked", "in_progress", "done")[i % 3],
                        last_update_date=dt.date(2026, 11, 1),
                    )
                )
                m = Milestone(
                    title="Mijlpaal",
                    commitment_id=c.id,
                    due_date=dt.date(2026, 6, 1) + dt.timedelta(days=20 * i),
                    target_value=100,
                    baseline_value=40,
                    baseline_date=dt.date(2025, 1, 1),
                    indicator_unit="%",
                )
                s.add(m)
                await s.flush()
                for k in range(i % 4):
                    s.add(
                        Measurement(
                            milestone_id=m.id,
                            date=dt.date(2025, 6, 1) + dt.timedelta(days=90 * k),
                            value=45 + (i + 3) * k,
                        )
                    )
            await s.commit()
        summary = await recalculate_all(factory, T, as_of=AS_OF, batch_size=4)
        assert (summary.commitments, summary.changed) == (23, 23)
        async with factory() as s:
            # Evaluating them again in one batch, taking turns, finds nothing to change.
            again = await StatusService(s, T).recalculate(ids, AS_OF)
            assert (again.changed, again.milestones_changed) == (0, 0)
            assert len({str(e.status) for e in again.evaluations.values()}) > 1
            history = (await s.execute(select(StatusHistory.commitment_id))).scalars().all()
            assert sorted(history) == sorted(ids)
            await s.rollback()
        assert (await recalculate_all(factory, T, as_of=AS_OF, batch_size=5)).changed == 0
    finally:
        async with factory() as s:
            await s.execute(Commitment.__table__.delete().where(Commitment.id.in_(ids)))
            await s.commit()


@pytest.mark.postgres_only
async def test_full_run_that_fails_midway_keeps_earlier_batches_and_leaks_no_connection(
    engine: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A batch that fails stops the run: the batches before it are committed, the one read ahead is closed,
    and no connection stays checked out of the pool."""
    from shared.db import create_session_factory

    factory = create_session_factory(engine)
    ids: list[uuid.UUID] = []
    original = StatusService.evaluate
    evaluated: list[int] = []

    async def failing(self: StatusService, batch: Any, outcome: Any, **kw: Any) -> Any:
        evaluated.append(len(batch.inputs))
        if len(evaluated) == 3:
            raise RuntimeError("the third batch fails")
        return await original(self, batch, outcome, **kw)

    try:
        async with factory() as s:
            for i in range(12):
                ids.append((await commitment(s, due_date=dt.date(2026, 1, 1) + dt.timedelta(days=30 * i))).id)
            await s.commit()
        monkeypatch.setattr(StatusService, "evaluate", failing)
        with pytest.raises(RuntimeError, match="third batch"):
            await recalculate_all(factory, T, as_of=AS_OF, batch_size=4)
        assert engine.pool.checkedout() == 0
        async with factory() as s:
            stored = (
                (
                    await s.execute(
                        select(Commitment.id).where(
                            Commitment.id.in_(ids), Commitment.evaluated_at.isnot(None)
                        )
                    )
                )
                .scalars()
                .all()
            )
        assert sorted(stored) == sorted(ids)[:8]  # batches are in id order
    finally:
        async with factory() as s:
            await s.execute(Commitment.__table__.delete().where(Commitment.id.in_(ids)))
            await s.commit()


async def test_signals_sweep_finds_the_commitments_they_concern(session: Any) -> None:
    """New signals reach the commitments they can change: linked, or about the owner or a subject party (by party,
    AGB or zorgkantoor code) on a shared theme; nothing else."""
    from shared.status.concerned import sweep

    themes = [Theme(key=k, label_nl=k, label_en=k) for k in ("bejegening", "privacy")]
    fokus = Party(name="Fokus", kind="provider", agb_code="87654321")
    zk = Party(name="Zorgkantoor", kind="zorgkantoor", zorgkantoor_code="5502")
    vws = Party(name="VWS", kind="ministry")
    session.add_all([*themes, fokus, zk, vws])
    await session.flush()
    owned = await commitment(session, owner_party_id=fokus.id, themes=[themes[0]])
    other_theme = await commitment(session, owner_party_id=fokus.id, themes=[themes[1]])
    about = await commitment(session, owner_party_id=vws.id, themes=[themes[0]])
    await session.execute(
        insert(commitment_subject_parties).values(commitment_id=about.id, party_id=fokus.id)
    )
    regional = await commitment(session, owner_party_id=zk.id, themes=[themes[0]])
    linked = await commitment(session)
    untouched = await commitment(session, owner_party_id=vws.id, themes=[themes[0]])
    assert await sweep(session) == []  # nothing received yet (moves the checkpoint)
    await _signal(session, AS_OF, theme="bejegening", agb="87654321")
    await _signal(session, AS_OF, theme="bejegening", zorgkantoor="5502")
    await _signal(session, AS_OF, commitment_id=linked.id)
    found = set(await sweep(session))
    assert found == {owned.id, about.id, regional.id, linked.id}
    assert other_theme.id not in found and untouched.id not in found
