"""The sync against a fake feed on loopback: samples end to end, paging, idempotency, versions, deletes,
relations in either order, relevance, status quirks, and commitments queued for recalculation."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import select

from shared.commitments.models import Commitment
from shared.tk.models import (
    StatusNormalised,
    TkDocument,
    TkKamerstukdossier,
    TkSyncRun,
    TkSyncState,
    TkToezegging,
)
from shared.tk.testing import document, dossier, toezegging, zaak

TZ41 = uuid.UUID("a1b2c3d4-e5f6-4a7b-8c9d-0e1f2a3b4c5d")
LETTER = uuid.UUID("3d7e9f10-2a4b-4c6d-8e0f-1a2b3c4d5e6f")


def g(n: int) -> str:
    return str(uuid.UUID(int=n))


async def rows(session_factory: Any, model: Any) -> list[Any]:
    async with session_factory() as s:
        return list((await s.execute(select(model).order_by(model.id))).scalars())


async def state(session_factory: Any, category: str) -> TkSyncState:
    async with session_factory() as s:
        return await s.get(TkSyncState, category)


async def test_samples_end_to_end(samples, make_runner, session_factory):
    summaries = await make_runner().run()
    assert [s.status for s in summaries] == ["succeeded"] * 5
    by = {s.category: s for s in summaries}
    assert (
        by["Toezegging"].entries == 5
        and by["Toezegging"].upserts == 4
        and by["Toezegging"].skipped_older == 1
    )
    assert by["Document"].upserts == 2 and by["Document"].skipped_irrelevant == 1  # unknown deleted doc

    toezeggingen = {t.nummer: t for t in await rows(session_factory, TkToezegging)}
    tz = toezeggingen["TZ202511-041"]
    assert tz.id == TZ41 and tz.status == "Voldaan" and tz.status_normalised == StatusNormalised.fulfilled
    assert tz.kamerbrief_nakoming == "2026D07125" and tz.kamerbrief_document_id == LETTER  # letter came later
    assert tz.datum_nakoming == dt.date(2026, 2, 12)
    assert tz.bijgewerkt == dt.datetime(2026, 2, 20, 9, 29, 40, tzinfo=dt.UTC)
    assert toezeggingen["TZ202511-043"].datum_nakoming is None
    dossiers = {d.nummer: d for d in await rows(session_factory, TkKamerstukdossier)}
    assert dossiers["30218"].bijgewerkt == dt.datetime(2008, 8, 26, 10, 13, 4, 627000, tzinfo=dt.UTC)
    assert (await state(session_factory, "Toezegging")).skiptoken == 1844310
    assert (await state(session_factory, "Document")).skiptoken == 20988190


async def test_paging_requests_built_from_base_url_and_checkpoint(feed, make_runner, session_factory):
    feed.page_size = 2
    feed.add("Toezegging", *[toezegging(g(i), 100 + i, nummer=f"TZ-{i}") for i in range(1, 8)])
    summary = await make_runner().run_category("Toezegging")
    assert summary.pages == 4 and summary.entries == 7 and summary.upserts == 7
    assert feed.requests == [
        ("Toezegging", None),
        ("Toezegging", 102),
        ("Toezegging", 104),
        ("Toezegging", 106),
        ("Toezegging", 107),
    ]
    assert (await state(session_factory, "Toezegging")).skiptoken == 107


async def test_second_run_changes_nothing_and_requests_only_the_tail(samples, make_runner, session_factory):
    feed = samples
    await make_runner().run()
    before = [(t.id, t.bijgewerkt, t.status, t.synced_at) for t in await rows(session_factory, TkToezegging)]
    feed.requests.clear()
    summaries = await make_runner().run()
    assert all(s.entries == 0 and s.upserts == 0 and s.pages == 0 for s in summaries)
    assert feed.requests == [
        ("Kamerstukdossier", 9188420),
        ("Zaak", 44512877),
        ("Activiteit", 30110455),
        ("Toezegging", 1844310),
        ("Document", 20988190),
    ]
    after = [(t.id, t.bijgewerkt, t.status, t.synced_at) for t in await rows(session_factory, TkToezegging)]
    assert after == before


async def test_older_version_never_overwrites_newer(feed, make_runner, session_factory):
    new = toezegging(g(1), 10, nummer="TZ-1", status="Voldaan", bijgewerkt="2026-02-01T10:00:00Z")
    feed.add("Toezegging", new)
    await make_runner().run_category("Toezegging")
    # the feed re-emits the old version later (a data fix), in a later run and twice within one page
    old = toezegging(g(1), 20, nummer="TZ-1", status="Openstaand", bijgewerkt="2025-01-01T10:00:00Z")
    old_again = toezegging(
        g(1), 21, nummer="TZ-1", status="Openstaand", bijgewerkt="2025-06-01T12:00:00+0200"
    )
    feed.add("Toezegging", old, old_again)
    summary = await make_runner().run_category("Toezegging")
    assert summary.upserts == 0 and summary.skipped_older == 2
    (stored,) = await rows(session_factory, TkToezegging)
    assert stored.status == "Voldaan" and stored.bijgewerkt == dt.datetime(2026, 2, 1, 10, tzinfo=dt.UTC)
    assert (await state(session_factory, "Toezegging")).skiptoken == 21  # skipped entries still checkpointed


async def test_newest_version_within_one_page_wins(feed, make_runner, session_factory):
    feed.add(
        "Toezegging",
        toezegging(g(1), 10, nummer="TZ-1", status="Deels voldaan", bijgewerkt="2026-03-01T10:00:00Z"),
        toezegging(g(1), 11, nummer="TZ-1", status="Openstaand", bijgewerkt="2026-01-01T10:00:00Z"),
    )
    await make_runner().run_category("Toezegging")
    (stored,) = await rows(session_factory, TkToezegging)
    assert (
        stored.status == "Deels voldaan" and stored.status_normalised == StatusNormalised.partially_fulfilled
    )


async def test_delete_marker_marks_deleted_and_older_version_does_not_resurrect(
    feed, make_runner, session_factory
):
    feed.add("Toezegging", toezegging(g(1), 10, nummer="TZ-1", bijgewerkt="2026-01-01T10:00:00Z"))
    await make_runner().run_category("Toezegging")
    feed.add(
        "Toezegging",
        toezegging(g(1), 11, nummer="TZ-1", bijgewerkt="2026-02-01T10:00:00Z", deleted=True),
        toezegging(g(1), 12, nummer="TZ-1", bijgewerkt="2026-01-01T10:00:00Z"),
    )
    summary = await make_runner().run_category("Toezegging")
    assert summary.deletes == 1
    (stored,) = await rows(session_factory, TkToezegging)
    assert stored.verwijderd is True and stored.nummer == "TZ-1"  # last known content kept for history


async def test_unknown_status_kept_raw_and_counted(feed, make_runner, session_factory):
    feed.add(
        "Toezegging",
        toezegging(g(1), 10, nummer="TZ-1", status="Afgedaan"),
        toezegging(g(2), 11, nummer="TZ-2", status="DEELS VOLDAAN"),
        toezegging(g(3), 12, nummer="TZ-3", status=None),
    )
    summary = await make_runner().run_category("Toezegging")
    assert summary.unknown_status == 1
    stored = {t.nummer: t for t in await rows(session_factory, TkToezegging)}
    assert (stored["TZ-1"].status, stored["TZ-1"].status_normalised) == ("Afgedaan", StatusNormalised.unknown)
    assert stored["TZ-2"].status_normalised == StatusNormalised.partially_fulfilled
    assert stored["TZ-3"].status is None and stored["TZ-3"].status_normalised == StatusNormalised.unknown
    assert (await state(session_factory, "Toezegging")).unknown_status == 1


async def test_zero_date_is_null(feed, make_runner, session_factory):
    feed.add("Toezegging", toezegging(g(1), 10, nummer="TZ-1", datum_nakoming="0001-01-01T00:00:00Z"))
    await make_runner().run_category("Toezegging")
    (stored,) = await rows(session_factory, TkToezegging)
    assert stored.datum_nakoming is None


async def test_document_relevance(feed, make_runner, session_factory):
    watched, other = g(900), g(901)
    feed.add("Kamerstukdossier", dossier(watched, 1, nummer="31765"), dossier(other, 2, nummer="99999"))
    feed.add(
        "Zaak",
        zaak(g(800), 1, nummer="2026Z1", dossier=watched),
        zaak(g(801), 2, nummer="2026Z2", dossier=other),
    )
    feed.add("Toezegging", toezegging(g(1), 1, nummer="TZ-1", kamerbrief="2026D00005"))
    feed.add(
        "Document",
        document(g(101), 1, nummer="2026D00001", dossier=watched, titel="Iets"),  # watched dossier
        document(g(102), 2, nummer="2026D00002", zaken=[g(800)], titel="Iets"),  # zaak in watched dossier
        document(g(103), 3, nummer="2026D00003", dossier=other, titel="Over Gehandicaptenzorg"),  # term
        document(g(104), 4, nummer="2026D00004", dossier=other, titel="Bruggen", onderwerp="Sluizen"),  # no
        document(g(105), 5, nummer="2026D00005", dossier=other, titel="Antwoord", onderwerp="Iets"),  # letter
        document(
            g(106), 6, nummer="2026D00006", zaken=[g(801)], titel="GADL", onderwerp="x"
        ),  # not a word match
    )
    summaries = await make_runner().run()
    kept = sorted(d.nummer for d in await rows(session_factory, TkDocument))
    assert kept == ["2026D00001", "2026D00002", "2026D00003", "2026D00005"]
    assert summaries[-1].skipped_irrelevant == 2 and summaries[-1].entries == 6
    (tz,) = await rows(session_factory, TkToezegging)
    assert tz.kamerbrief_document_id == uuid.UUID(g(105))


async def test_kept_document_update_applies_even_if_it_no_longer_matches(feed, make_runner, session_factory):
    feed.page_size = 1
    feed.add("Document", document(g(101), 1, nummer="D1", titel="Fokus", bijgewerkt="2026-01-01T00:00:00Z"))
    await make_runner().run()
    feed.add(
        "Document",
        document(g(101), 2, nummer="D1", titel="Anders", bijgewerkt="2026-02-01T00:00:00Z"),
        document(g(101), 3, nummer="D1", bijgewerkt="2026-03-01T00:00:00Z", deleted=True),
    )
    summary = await make_runner().run_category("Document")
    assert summary.upserts == 1 and summary.deletes == 1
    (stored,) = await rows(session_factory, TkDocument)
    assert stored.titel == "Anders" and stored.verwijderd is True


async def following_tz1(session_factory, title: str) -> Commitment:
    """A commitment that follows toezegging TZ-1."""
    async with session_factory() as s:
        commitment = Commitment(title=title, tk_toezegging_nummer="TZ-1")
        s.add(commitment)
        await s.commit()
    return commitment


async def test_letter_before_toezegging_and_commitments_queued(
    feed, make_runner, session_factory, recalculations
):
    queue, recorder = recalculations
    commitment = await following_tz1(session_factory, "Kabinetsreactie Q-Consult")
    feed.add("Document", document(g(105), 1, nummer="2026D00005", titel="Fokus brief"))
    await make_runner(queue).run(["Document"])
    feed.add("Toezegging", toezegging(g(1), 1, nummer="TZ-1", status="Voldaan", kamerbrief="2026D00005"))
    summaries = await make_runner(queue).run(["Toezegging"])
    await queue.drain()
    (tz,) = await rows(session_factory, TkToezegging)
    assert tz.kamerbrief_document_id == uuid.UUID(g(105))
    assert recorder.commitments == [str(commitment.id)] and summaries[0].commitments_queued == 1
    # a run that changes nothing queues nothing
    await make_runner(queue).run(["Toezegging", "Document"])
    await queue.drain()
    assert recorder.commitments == [str(commitment.id)]


async def test_letter_arriving_later_queues_the_commitment(
    feed, make_runner, session_factory, recalculations
):
    queue, recorder = recalculations
    commitment = await following_tz1(session_factory, "Voortgang")
    feed.add("Toezegging", toezegging(g(1), 1, nummer="TZ-1", status="Voldaan", kamerbrief="2026D00005"))
    await make_runner(queue).run()
    await queue.drain()
    recorder.commitments.clear()
    feed.add("Document", document(g(105), 1, nummer="2026D00005", titel="Brief"))
    await make_runner(queue).run(["Document"])
    await queue.drain()
    (tz,) = await rows(session_factory, TkToezegging)
    assert tz.kamerbrief_document_id == uuid.UUID(g(105))
    assert recorder.commitments == [str(commitment.id)]


async def test_start_token_skips_history_on_first_run(feed, make_runner, session_factory):
    feed.add("Toezegging", *[toezegging(g(i), i, nummer=f"TZ-{i}") for i in range(1, 6)])
    await make_runner(tk_start_tokens={"Toezegging": 3}).run_category("Toezegging")
    assert feed.requests[0] == ("Toezegging", 3)
    assert sorted(t.nummer for t in await rows(session_factory, TkToezegging)) == ["TZ-4", "TZ-5"]


async def test_runs_are_recorded(samples, make_runner, session_factory):
    await make_runner().run(["Toezegging"])
    (run,) = await rows(session_factory, TkSyncRun)
    assert run.status == "succeeded" and run.entries == 5 and run.end_token == 1844310 and run.finished_at
    st = await state(session_factory, "Toezegging")
    assert st.last_success_at is not None and st.last_error is None and st.entries == 5
