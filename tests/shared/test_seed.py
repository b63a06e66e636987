"""The seed dataset: valid, idempotent, every record traceable to its source document."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from sqlalchemy import func, select

from shared.commitments.models import Commitment
from shared.db import seed_id
from shared.milestones.models import Milestone
from shared.seed.loader import SOURCES_DIR, SeedDataset, read_dataset



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
        quoted += [(f"milestones.{m.key}.measurements.{x.date}", x.source, x.quote or "") for x in m.measurements]
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
    broken = data.model_copy(update={"actions": [action.model_copy(update={"quote": action.quote + " (ingekort)"}),
                                                 *data.actions[1:]]})
    assert _misquoted(broken) == [f"actions.{action.key}: quote not verbatim in {_file_of(data, action.source)}"]


async def test_load_is_idempotent(session: Any) -> None:
    from shared.seed.loader import load_dataset

    first = await load_dataset(session)
    assert first["commitments"] >= 25
    second = await load_dataset(session)
    assert second == {}
    count = (await session.execute(select(func.count()).select_from(Commitment))).scalar_one()
    assert count == first["commitments"]


async def test_fokus_payroll_milestone(session: Any) -> None:
    from shared.seed.loader import load_dataset

    await load_dataset(session)
    milestones = (await session.execute(select(Milestone).where(Milestone.due_date == dt.date(2026, 7, 1)))).scalars().all()
    fokus = [m for m in milestones if m.target_value == 100 and m.indicator_unit == "percent"]
    assert fokus, "the Fokus milestone 'all ADL staff employed on 2026-07-01' is in the seed"
    assert fokus[0].source_id is not None
    assert fokus[0].id == seed_id("milestones", fokus[0].key)


MONTHS = ("januari", "februari", "maart", "april", "mei", "juni", "juli", "augustus", "september", "oktober",
          "november", "december")
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
            dates = {d for d in (getattr(r, "due_date", None), getattr(r, "start_date", None),
                                 getattr(r, "end_date", None)) if d}
            for month, year in _END_OF_MONTH.findall(text):
                first, last = _month_bounds(month, year)
                if last not in dates or first in dates:
                    wrong.append(f"{section}.{r.key}: '{month} {year}' is meant up to {last}, dates are {sorted(dates)}")
            due = _deadline(r)
            if due and due.day == 1:
                name = MONTHS[due.month - 1]
                named = re.search(rf"(?<!\d)(?<!\d ){name}\s+{due.year}", words, re.IGNORECASE)
                as_of = re.search(rf"\b(?:1|per)\s+{name}\s+{due.year}", words, re.IGNORECASE)
                if named and not as_of:
                    wrong.append(f"{section}.{r.key}: deadline {due} for '{name} {due.year}' is not the month's last day")
    return list(dict.fromkeys(wrong))


def test_month_phrases_are_stored_as_the_dates_they_mean() -> None:
    assert _misdated(read_dataset()) == []
