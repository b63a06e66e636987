"""TK evidence that is real: several fulfilment letters and unknown relations kept, unreadable entities
quarantined without blocking their page, re-emitted entities that change nothing, and skipped documents found
again through the thin index and fetched by id (issue 10, item 2)."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select

from shared.status.loaders_tk import load_tk
from shared.tk.models import (
    TkDocument,
    TkDocumentFetch,
    TkDocumentIndex,
    TkQuarantine,
    TkSyncState,
    TkToezegging,
)
from shared.tk.parse import Quarantined, parse_page
from shared.tk.testing import Fault, Ref, document, dossier, entry_xml, page_xml, toezegging, zaak
from tests.shared.tk.test_tk_sync import following_tz1


def g(n: int) -> str:
    return str(uuid.UUID(int=n))


async def rows(session_factory: Any, model: Any) -> list[Any]:
    async with session_factory() as s:
        return list((await s.execute(select(model))).scalars())


async def state(session_factory: Any, category: str) -> TkSyncState:
    async with session_factory() as s:
        return await s.get(TkSyncState, category)


# Several kamerbriefNakoming and unknown relations -----------------------------------------------------------


def test_parser_keeps_every_letter_and_unknown_relations():
    entry = toezegging(
        g(1),
        10,
        nummer="TZ-1",
        kamerbrief=["2026D00001", "2026D00002", "2026D00003"],
        activiteit=g(70),
        extra=[
            ("toegezegdAan", Ref(g(80))),
            ("toegezegdAan", Ref(g(81))),
            ("activiteit", Ref(g(71))),
            ("isHerhalingVan", Ref("not-a-guid")),
        ],
    )
    (parsed,) = parse_page(page_xml("Toezegging", [entry]))
    assert parsed.values["kamerbrieven_nakoming"] == ["2026D00001", "2026D00002", "2026D00003"]
    assert parsed.values["kamerbrief_nakoming"] == "2026D00001"
    assert parsed.values["activiteit_id"] == uuid.UUID(g(70))
    assert parsed.values["relations"] == [
        {"element": "toegezegdAan", "ref": g(80)},
        {"element": "toegezegdAan", "ref": g(81)},
        {"element": "activiteit", "ref": g(71)},
        {"element": "isHerhalingVan", "ref": "not-a-guid"},
    ]


async def test_several_letters_are_all_kept_resolved_and_loaded(
    feed, make_runner, session_factory, recalculations
):
    queue, recorder = recalculations
    commitment = await following_tz1(session_factory, "Twee brieven")
    feed.add(
        "Toezegging",
        toezegging(
            g(1),
            1,
            nummer="TZ-1",
            status="Voldaan",
            kamerbrief=["2026D00005", "2026D00006"],
            extra=[("toegezegdAan", Ref(g(80))), ("toegezegdAan", Ref(g(81)))],
        ),
    )
    feed.add(
        "Document",
        document(g(105), 1, nummer="2026D00005", titel="Eerste brief"),
        document(g(106), 2, nummer="2026D00006", titel="Tweede brief"),
    )
    await make_runner(queue).run(["Toezegging", "Document"])
    await queue.drain()
    (tz,) = await rows(session_factory, TkToezegging)
    assert tz.kamerbrieven_nakoming == ["2026D00005", "2026D00006"] and tz.kamerbrief_nakoming == "2026D00005"
    assert tz.kamerbrief_document_id == uuid.UUID(g(105))
    assert [r["ref"] for r in tz.relations] == [g(80), g(81)]
    # both letters are relevant (named by the toezegging) although their titles match nothing
    assert sorted(d.nummer for d in await rows(session_factory, TkDocument)) == ["2026D00005", "2026D00006"]
    assert str(commitment.id) in recorder.commitments
    async with session_factory() as s:
        loaded = (await load_tk(s, ["TZ-1"]))["TZ-1"]
    assert [(d.nummer, d.titel, d.id) for d in loaded.fulfilment_letters] == [
        ("2026D00005", "Eerste brief", g(105)),
        ("2026D00006", "Tweede brief", g(106)),
    ]
    assert loaded.fulfilment_letter == loaded.fulfilment_letters[0] and loaded.sample is False


async def test_second_letter_arriving_later_recalculates(feed, make_runner, session_factory, recalculations):
    queue, recorder = recalculations
    commitment = await following_tz1(session_factory, "Tweede brief later")
    feed.add("Toezegging", toezegging(g(1), 1, nummer="TZ-1", kamerbrief=["2026D00005", "2026D00006"]))
    await make_runner(queue).run()
    await queue.drain()
    recorder.commitments.clear()
    feed.add("Document", document(g(106), 5, nummer="2026D00006", titel="Tweede brief"))
    await make_runner(queue).run(["Document"])
    await queue.drain()
    assert recorder.commitments == [str(commitment.id)]


# Quarantine -------------------------------------------------------------------------------------------------


def bad_id_entry(token: int) -> bytes:
    return entry_xml(
        "Toezegging", "TZ-niet-een-guid", token, "2026-01-01T10:00:00Z", [("nummer", "TZ-BAD")], prefix="ns1"
    )


def bad_date_entry(guid: str, token: int) -> bytes:
    return toezegging(guid, token, nummer="TZ-DATE", datum_nakoming="12 februari 2026")


async def test_unreadable_entities_are_quarantined_and_the_page_goes_on(feed, make_runner, session_factory):
    feed.page_size = 3
    feed.add(
        "Toezegging",
        toezegging(g(1), 1, nummer="TZ-1"),
        bad_id_entry(2),
        bad_date_entry(g(3), 3),
        toezegging(g(4), 4, nummer="TZ-4"),
        entry_xml("Toezegging", g(5), 5, "gisteren", [("nummer", "TZ-5")], prefix="ns1"),
    )
    summary = await make_runner().run_category("Toezegging")
    assert summary.status == "succeeded" and summary.quarantined == 3 and summary.upserts == 2
    assert sorted(t.nummer for t in await rows(session_factory, TkToezegging)) == ["TZ-1", "TZ-4"]
    st = await state(session_factory, "Toezegging")
    assert st.skiptoken == 5 and st.quarantined == 3 and st.last_error is None
    held = {q.skiptoken: q for q in await rows(session_factory, TkQuarantine)}
    assert sorted(held) == [2, 3, 5]
    assert held[2].entity_id == "TZ-niet-een-guid" and "not a GUID" in held[2].reason
    assert (
        held[3].entity_id == g(3) and "datumNakoming" in held[3].reason and "12 februari 2026" in held[3].raw
    )
    assert "bijgewerkt" in held[5].reason and held[5].origin == "feed"
    # a readable newer version of the quarantined entity goes in normally; the quarantine is not read again
    feed.add("Toezegging", toezegging(g(3), 6, nummer="TZ-DATE", datum_nakoming="2026-02-12"))
    again = await make_runner().run_category("Toezegging")
    assert (
        again.upserts == 1 and again.quarantined == 0 and len(await rows(session_factory, TkQuarantine)) == 3
    )


def test_parser_returns_quarantined_entries_in_place():
    parsed = parse_page(page_xml("Toezegging", [toezegging(g(1), 1, nummer="TZ-1"), bad_id_entry(2)]))
    assert [type(p).__name__ for p in parsed] == ["FeedEntry", "Quarantined"]
    assert isinstance(parsed[1], Quarantined) and parsed[1].token == 2 and parsed[1].raw.startswith("<entry ")
    assert "TZ-BAD" in parsed[1].raw


# Material change only ---------------------------------------------------------------------------------------


async def test_reemitted_entities_without_a_change_change_nothing(
    feed, make_runner, session_factory, recalculations
):
    queue, recorder = recalculations
    commitment = await following_tz1(session_factory, "Ongewijzigd")
    feed.add(
        "Toezegging",
        toezegging(g(1), 1, nummer="TZ-1", kamerbrief="2026D00005", bijgewerkt="2025-11-14T12:20:03+0100"),
    )
    feed.add(
        "Document", document(g(105), 1, nummer="2026D00005", titel="Brief", bijgewerkt="2026-01-01T00:00:00Z")
    )
    await make_runner(queue).run()
    await queue.drain()
    assert set(recorder.commitments) == {str(commitment.id)}  # the toezegging, then its letter
    recorder.commitments.clear()
    before = [(t.bijgewerkt, t.synced_at) for t in await rows(session_factory, TkToezegging)]
    # the feed's correction wave: same content, a new bijgewerkt, a new position
    feed.add(
        "Toezegging",
        toezegging(g(1), 2, nummer="TZ-1", kamerbrief="2026D00005", bijgewerkt="2026-02-01T00:00:00Z"),
    )
    feed.add(
        "Document", document(g(105), 2, nummer="2026D00005", titel="Brief", bijgewerkt="2026-02-01T00:00:00Z")
    )
    summaries = {s.category: s for s in await make_runner(queue).run(["Toezegging", "Document"])}
    await queue.drain()
    assert (summaries["Toezegging"].upserts, summaries["Toezegging"].unchanged) == (0, 1)
    assert (summaries["Document"].upserts, summaries["Document"].unchanged) == (0, 1)
    assert summaries["Toezegging"].commitments_queued == 0 and summaries["Document"].commitments_queued == 0
    assert recorder.commitments == []  # nothing recalculated
    assert [(t.bijgewerkt, t.synced_at) for t in await rows(session_factory, TkToezegging)] == before
    assert (await state(session_factory, "Toezegging")).unchanged == 1
    # a real change is still a change
    feed.add(
        "Toezegging",
        toezegging(
            g(1),
            3,
            nummer="TZ-1",
            kamerbrief="2026D00005",
            status="Voldaan",
            bijgewerkt="2026-03-01T00:00:00Z",
        ),
    )
    changed = await make_runner(queue).run_category("Toezegging")
    await queue.drain()
    assert changed.upserts == 1 and changed.unchanged == 0 and recorder.commitments == [str(commitment.id)]


async def test_older_version_counts_as_older_not_unchanged(feed, make_runner, session_factory):
    feed.add("Toezegging", toezegging(g(1), 1, nummer="TZ-1", bijgewerkt="2026-02-01T00:00:00Z"))
    await make_runner().run_category("Toezegging")
    feed.add(
        "Toezegging",
        toezegging(g(1), 2, nummer="TZ-1", status="Vervallen", bijgewerkt="2025-01-01T00:00:00Z"),
    )
    summary = await make_runner().run_category("Toezegging")
    assert (summary.skipped_older, summary.unchanged, summary.upserts) == (1, 0, 0)


# Thin index and documents fetched by id (issue 10, item 2) --------------------------------------------------

WATCHED = g(900)


async def test_document_of_a_watched_dossier_comes_back_after_the_dossier_failed(
    feed, make_runner, session_factory
):
    """Kamerstukdossier answers 503 for the whole run while Document succeeds: the dossier's document is
    skipped (its dossier is not mirrored yet) but indexed; once the dossier arrives the document is fetched
    by id."""
    feed.add("Kamerstukdossier", dossier(WATCHED, 1, nummer="31765"))
    feed.add("Zaak", zaak(g(800), 1, nummer="2026Z1"))  # a zaak whose dossier we do not know yet
    feed.add(
        "Document",
        document(g(101), 1, nummer="2026D00001", dossier=WATCHED, titel="Iets"),
        document(g(102), 2, nummer="2026D00002", zaken=[g(800)], titel="Iets"),
        document(g(103), 3, nummer="2026D00003", titel="Iets anders"),
    )
    feed.inject(*[Fault("503", category="Kamerstukdossier")] * 10)
    first = {s.category: s for s in await make_runner(tk_dossiers=["31765"], tk_terms=[]).run()}
    assert first["Kamerstukdossier"].status == "failed" and first["Document"].status == "succeeded"
    assert first["Document"].skipped_irrelevant == 3 and await rows(session_factory, TkDocument) == []
    assert sorted(i.nummer for i in await rows(session_factory, TkDocumentIndex)) == [
        "2026D00001",
        "2026D00002",
        "2026D00003",
    ]
    assert (await state(session_factory, "Document")).skiptoken == 3  # the checkpoint moved past them

    feed.faults.clear()
    feed.add("Zaak", zaak(g(800), 2, nummer="2026Z1", dossier=WATCHED, bijgewerkt="2026-03-01T00:00:00Z"))
    second = {s.category: s for s in await make_runner(tk_dossiers=["31765"], tk_terms=[]).run()}
    assert all(s.status == "succeeded" for s in second.values())
    assert sorted(d.nummer for d in await rows(session_factory, TkDocument)) == ["2026D00001", "2026D00002"]
    assert second["Kamerstukdossier"].fetched + second["Zaak"].fetched == 2
    assert sorted(feed.entity_requests) == [g(101), g(102)]
    assert await rows(session_factory, TkDocumentFetch) == []
    # the fetched document is the whole entity, with its zaak links
    async with session_factory() as s:
        doc = await s.get(TkDocument, uuid.UUID(g(102)))
    assert doc.titel == "Iets" and doc.origin == "feed" and doc.skiptoken is None


async def test_letter_skipped_before_any_toezegging_named_it_is_fetched_in_the_same_run(
    feed, make_runner, session_factory, recalculations
):
    queue, recorder = recalculations
    commitment = await following_tz1(session_factory, "Brief eerder dan toezegging")
    feed.add("Document", document(g(105), 1, nummer="2026D00005", titel="Antwoord", onderwerp="Iets"))
    await make_runner(queue, tk_terms=[]).run(["Document"])
    assert await rows(session_factory, TkDocument) == []  # skipped: nothing named it yet
    feed.add(
        "Toezegging",
        toezegging(g(1), 1, nummer="TZ-1", status="Voldaan", kamerbrief=["2026D00009", "2026D00005"]),
    )
    summary = await make_runner(queue, tk_terms=[]).run_category("Toezegging")
    await queue.drain()
    assert summary.fetched == 1 and feed.entity_requests == [g(105)]
    (_tz,) = await rows(session_factory, TkToezegging)
    assert [d.nummer for d in await rows(session_factory, TkDocument)] == ["2026D00005"]
    assert str(commitment.id) in recorder.commitments
    async with session_factory() as s:
        loaded = (await load_tk(s, ["TZ-1"]))["TZ-1"]
    assert [(d.nummer, d.titel) for d in loaded.fulfilment_letters] == [
        ("2026D00009", None),
        ("2026D00005", "Antwoord"),
    ]


async def test_wanted_document_survives_a_failing_fetch_and_a_vanished_one_is_forgotten(
    feed, make_runner, session_factory
):
    feed.add(
        "Document",
        document(g(105), 1, nummer="2026D00005", titel="Antwoord"),
        document(g(106), 2, nummer="2026D00006", titel="Antwoord"),
    )
    await make_runner(tk_terms=[]).run(["Document"])
    feed.entries["Document"] = [item for item in feed.entries["Document"] if g(106).encode() not in item[1]]
    feed.inject(*[Fault("503", category="Entiteiten")] * 10)
    feed.add("Toezegging", toezegging(g(1), 1, nummer="TZ-1", kamerbrief=["2026D00005", "2026D00006"]))
    failed = await make_runner(tk_terms=[]).run_category("Toezegging")
    assert failed.status == "succeeded" and failed.fetched == 0  # the category itself is fine
    wanted = await rows(session_factory, TkDocumentFetch)
    assert len(wanted) == 2 and any(w.attempts == 1 and "HTTP 503" in w.last_error for w in wanted)
    feed.faults.clear()
    later = await make_runner(tk_terms=[]).run_category("Zaak")  # the next run of any category fetches them
    assert later.fetched == 2 and await rows(session_factory, TkDocumentFetch) == []
    assert [d.nummer for d in await rows(session_factory, TkDocument)] == ["2026D00005"]
    async with session_factory() as s:
        assert (await s.get(TkDocumentIndex, uuid.UUID(g(106)))).verwijderd is True  # gone from the feed
