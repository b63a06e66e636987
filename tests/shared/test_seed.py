"""The seed dataset: valid, idempotent, every record traceable to its source document."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
from sqlalchemy import func, select

from shared.actions.models import Action
from shared.commitments.models import Commitment
from shared.db import seed_id
from shared.milestones.models import Milestone
from shared.seed.loader import (
    SOURCES_DIR,
    SeedDataset,
    dataset_digest,
    load_dataset,
    plain,
    read_dataset,
    read_superseded,
    seed_rows,
)
from shared.seed.release import supersede


def _squash(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def _quoted_records(data: SeedDataset) -> list[tuple[str, str | None, str]]:
    """(where, source key, quote) for every record kind that carries a quote: recommendations, commitments,
    actions, milestones and their measurements. A recommendation made by a report that is not a seed
    document (Q-Consult) is quoted from the document that states it (its response source)."""
    files = {s.key: s.seed_file for s in data.sources}
    quoted: list[tuple[str, str | None, str]] = []
    for r in data.recommendations:
        source = r.source if files.get(r.source) else r.response_source
        quoted.append((f"recommendations.{r.key}", source, r.quote or ""))
    for section in ("commitments", "actions", "milestones"):
        quoted += [(f"{section}.{r.key}", r.source, r.quote or "") for r in getattr(data, section)]
    for m in data.milestones:
        where = f"milestones.{m.key}.measurements"
        quoted += [(f"{where}.{x.date}", x.source, x.quote or "") for x in m.measurements]
    return quoted


def _misquoted(data: SeedDataset) -> list[str]:
    files = {s.key: s.seed_file for s in data.sources}
    texts = {p.name: _squash(p.read_text(encoding="utf-8")) for p in SOURCES_DIR.glob("*.txt")}
    wrong = []
    for where, source, quote in _quoted_records(data):
        seed_file = files.get(source) if source else None
        if not quote or seed_file is None:
            wrong.append(f"{where}: no quote from a seed document")
        elif _squash(quote) not in texts[seed_file]:
            wrong.append(f"{where}: quote not verbatim in {seed_file}")
    return wrong


def test_dataset_is_valid_and_cites_sources() -> None:
    data = read_dataset()
    assert len(data.recommendations) >= 15 and len(data.commitments) >= 25 and len(data.actions) >= 40
    for section in ("recommendations", "commitments", "actions", "milestones"):
        for record in getattr(data, section):
            assert record.source and record.section, f"{section}.{record.key} lacks provenance"
    seed_files = {s.seed_file for s in data.sources if s.seed_file}
    assert len(seed_files) == 5  # all five source documents are used
    docs = {s.tk_document_nummer for s in data.sources}
    assert {"2026D07125", "2026D07126"} <= docs
    assert any(s.kamerstuk == "31765 nr. 952" for s in data.sources)


def test_source_documents_are_in_the_repo() -> None:
    data = read_dataset()
    cited = {s.seed_file for s in data.sources if s.seed_file}
    assert cited == {p.name for p in SOURCES_DIR.glob("*.txt")}
    for name in cited:
        assert (SOURCES_DIR / name).read_text(encoding="utf-8").strip(), name


def test_every_quote_is_verbatim_in_its_source_document() -> None:
    data = read_dataset()
    assert len(_quoted_records(data)) > 150  # every kind is checked, measurements included
    assert _misquoted(data) == []


def _file_of(data: SeedDataset, source: str | None) -> str | None:
    return next(s.seed_file for s in data.sources if s.key == source)


def test_a_changed_quote_is_caught() -> None:
    data = read_dataset()
    action = data.actions[0]
    misquoted = action.model_copy(update={"quote": action.quote + " (ingekort)"})
    broken = data.model_copy(update={"actions": [misquoted, *data.actions[1:]]})
    seed_file = _file_of(data, action.source)
    assert _misquoted(broken) == [f"actions.{action.key}: quote not verbatim in {seed_file}"]


async def test_load_is_idempotent(session: Any) -> None:
    first = await load_dataset(session)
    assert first["commitments"] >= 25
    second = await load_dataset(session)
    assert second == {}
    count = (await session.execute(select(func.count()).select_from(Commitment))).scalar_one()
    assert count == first["commitments"]


def _as_column(model: type, name: str, value: Any) -> Any:
    """A released (plain) value back as the column holds it."""
    if value is not None and model.__table__.c[name].type.python_type is dt.date:
        return dt.date.fromisoformat(value)
    return value


async def _restore_released(session: Any, superseded: dict[str, Any], pick: int) -> int:
    """Put the `pick`-th released value back into every corrected column, as a database that loaded that
    earlier version holds it; returns how many records that touched."""
    rows = {(row.section, row.key): row for row in seed_rows(read_dataset())}
    touched = 0
    for section, records in superseded["values"].items():
        for key, columns in records.items():
            row = rows[(section, key)]
            obj = await session.get(row.model, row.pk)
            for name, values in columns.items():
                setattr(obj, name, _as_column(row.model, name, values[min(pick, len(values) - 1)]))
            touched += 1
    await session.commit()
    return touched


async def test_a_new_version_corrects_what_an_old_version_loaded(session_factory: Any) -> None:
    superseded = read_superseded()
    data = read_dataset()
    async with session_factory() as s:
        await load_dataset(s)
        await s.commit()
        stale = await _restore_released(s, superseded, pick=0)
        meeting = await s.get(Action, seed_id("actions", "fokus-bijeenkomst-transformatie-oktober-2025"))
        assert meeting.end_date == dt.date(2025, 10, 1)  # what seed v1 stored
        # An action edited through the API after the old load: its value is no released one, so it stays.
        edited = await s.get(Action, seed_id("actions", "vl-begeleiding-a-la-carte"))
        edited.end_date = dt.date(2021, 12, 31)
        await s.commit()

    async with session_factory() as s:
        counts = await load_dataset(s, data)
        await s.commit()
    expected_updates = {f"{section}_updated": len(recs) for section, recs in superseded["values"].items()}
    # The edited action also had a corrected description: that is updated, its own end date kept.
    assert counts == {**expected_updates, "actions_kept": 1}
    assert sum(expected_updates.values()) == stale

    async with session_factory() as s:
        meeting = await s.get(Action, seed_id("actions", "fokus-bijeenkomst-transformatie-oktober-2025"))
        assert (meeting.start_date, meeting.end_date) == (dt.date(2025, 10, 31), dt.date(2025, 10, 31))
        kept = await s.get(Action, seed_id("actions", "vl-begeleiding-a-la-carte"))
        assert kept.end_date == dt.date(2021, 12, 31)
        for row in seed_rows(data):  # every other record now holds exactly what the dataset says
            if (row.section, row.key) != ("actions", "vl-begeleiding-a-la-carte"):
                obj = await s.get(row.model, row.pk)
                stored = {n: plain(getattr(obj, n)) for n in row.values}
                assert stored == {n: plain(v) for n, v in row.values.items()}, row.key
        assert await load_dataset(s, data) == {"actions_kept": 1}  # nothing left to correct


def test_the_dataset_is_released_under_its_version() -> None:
    data = read_dataset()
    digests = read_superseded()["digests"]
    assert digests[data.version] == dataset_digest(data), "changed seed: new version, shared.seed.release"
    assert max(digests) == data.version


def test_release_refuses_a_changed_dataset_under_an_old_version() -> None:
    data = read_dataset()
    record = data.actions[0]
    changed = data.model_copy(
        update={"actions": [record.model_copy(update={"title": record.title + "."}), *data.actions[1:]]}
    )
    with pytest.raises(ValueError, match="version must go above"):
        supersede(data, changed, read_superseded())
    bumped = changed.model_copy(update={"version": data.version + 1})
    result = supersede(data, bumped, read_superseded())
    assert result["values"]["actions"][record.key]["title"] == [record.title]
    with pytest.raises(ValueError, match="released with other content"):
        supersede(changed, bumped.model_copy(update={"version": data.version + 2}), read_superseded())


async def test_fokus_payroll_milestone(session: Any) -> None:
    await load_dataset(session)
    milestones = (
        (await session.execute(select(Milestone).where(Milestone.due_date == dt.date(2026, 7, 1))))
        .scalars()
        .all()
    )
    fokus = [m for m in milestones if m.target_value == 100 and m.indicator_unit == "percent"]
    assert fokus, "the Fokus milestone 'all ADL staff employed on 2026-07-01' is in the seed"
    assert fokus[0].source_id is not None
    assert fokus[0].id == seed_id("milestones", fokus[0].key)


MONTHS = (
    "januari",
    "februari",
    "maart",
    "april",
    "mei",
    "juni",
    "juli",
    "augustus",
    "september",
    "oktober",
    "november",
    "december",
)
_MONTH = "(" + "|".join(MONTHS) + r")\s+(\d{4})"
# "eind oktober 2025", "tot en met september 2021": the last day of that month is the date meant.
_END_OF_MONTH = re.compile(r"\b(?:eind|tot en met|tot maximaal|uiterlijk)\s+" + _MONTH, re.IGNORECASE)


def _month_bounds(month: str, year: str) -> tuple[dt.date, dt.date]:
    first = dt.date(int(year), MONTHS.index(month.lower()) + 1, 1)
    return first, (first + dt.timedelta(days=31)).replace(day=1) - dt.timedelta(days=1)


def _deadline(record: Any) -> dt.date | None:
    return getattr(record, "due_date", None) or getattr(record, "end_date", None)


def _misdated(data: SeedDataset) -> list[str]:
    """Dates that contradict the month phrase of their own record's text. A deadline (due or end date) named
    by month alone ("in december 2020", "vanaf april 2021") is due on that month's last day; it may be the
    1st only when the document's words (title, quote) name that day ("1 juli 2026") or mean "as of" the month
    ("per oktober 2021"); a description or section saying "datum = 1 december" does not make it so."""
    wrong = []
    for section in ("commitments", "actions", "milestones"):
        for r in getattr(data, section):
            words = " ".join(t for t in (r.title, r.quote) if t)
            text = " ".join(t for t in (words, r.description, r.section) if t)
            dates = {
                d
                for d in (
                    getattr(r, "due_date", None),
                    getattr(r, "start_date", None),
                    getattr(r, "end_date", None),
                )
                if d
            }
            for month, year in _END_OF_MONTH.findall(text):
                first, last = _month_bounds(month, year)
                if last not in dates or first in dates:
                    wrong.append(f"{section}.{r.key}: '{month} {year}' means {last}, not {sorted(dates)}")
            due = _deadline(r)
            if due and due.day == 1:
                name = MONTHS[due.month - 1]
                named = re.search(rf"(?<!\d)(?<!\d ){name}\s+{due.year}", words, re.IGNORECASE)
                as_of = re.search(rf"\b(?:1|per)\s+{name}\s+{due.year}", words, re.IGNORECASE)
                if named and not as_of:
                    wrong.append(f"{section}.{r.key}: deadline {due} for '{name} {due.year}' is not its end")
    return list(dict.fromkeys(wrong))


def test_month_phrases_are_stored_as_the_dates_they_mean() -> None:
    assert _misdated(read_dataset()) == []
