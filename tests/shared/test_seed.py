"""The seed dataset: valid, idempotent, every record traceable to its source document."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from shared.commitments.models import Commitment
from shared.db import seed_id
from shared.milestones.models import Milestone
from shared.seed.loader import read_dataset

SEEDS_DIR = Path(__file__).resolve().parents[2] / ".." / "shared" / "seeds"


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


def test_quotes_are_verbatim_when_source_documents_are_present() -> None:
    if not SEEDS_DIR.exists():  # the reference documents live outside the repo
        return
    texts = {p.name: re.sub(r"\s+", " ", p.read_text(encoding="utf-8")) for p in SEEDS_DIR.glob("*.txt")}
    data = read_dataset()
    files = {s.key: s.seed_file for s in data.sources}
    for record in data.commitments + data.actions:
        source_file = files.get(record.source)
        if record.quote and source_file in texts:
            assert re.sub(r"\s+", " ", record.quote) in texts[source_file], record.key


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
