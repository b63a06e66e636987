"""Loads the versioned seed dataset (shared/seed/data/seed.yaml; format in FORMAT.md).

Ids are UUIDv5 of (section, key), so loading twice changes nothing. Loading a newer version into a database
that holds an older one corrects the values the older version released (superseded.yaml) and keeps values
that were edited through the API.
"""

from __future__ import annotations

import datetime as dt
import enum
import hashlib
import json
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator
from sqlalchemy.ext.asyncio import AsyncSession

from shared.actions.models import Action, ActionState
from shared.commitments.models import Commitment, CommitmentOrigin
from shared.db import Base, seed_id
from shared.milestones.models import Direction, Measurement, Milestone
from shared.parties.models import Party, PartyKind
from shared.recommendations.models import Recommendation
from shared.sources.models import Source, SourceKind
from shared.themes.models import Theme

SEED_FILE = Path(__file__).resolve().parent / "data" / "seed.yaml"
# Values released dataset versions held that a later version corrected, and each version's digest; written by
# `python -m shared.seed.release OLD_SEED.yaml` (release.py), never by hand.
SUPERSEDED_FILE = Path(__file__).resolve().parent / "data" / "superseded.yaml"
# The cited documents themselves (public texts), so every quote can be checked against them.
SOURCES_DIR = Path(__file__).resolve().parent / "sources"
Key = str


class _Rec(BaseModel):
    model_config = ConfigDict(extra="forbid")
    key: Key = Field(pattern=r"^[a-z0-9][a-z0-9-]*$", max_length=80)


class _Prov(_Rec):
    source: Key | None = None
    section: str | None = Field(default=None, max_length=300)
    quote: str | None = Field(default=None, max_length=2000)


class SeedTheme(_Rec):
    label_nl: str
    label_en: str


class SeedParty(_Rec):
    name: str
    kind: PartyKind
    agb_code: str | None = Field(default=None, pattern=r"^\d{8}$")
    zorgkantoor_code: str | None = Field(default=None, pattern=r"^\d{4}$")
    kvk_number: str | None = Field(default=None, pattern=r"^\d{8}$")
    description: str | None = None


class SeedSource(_Rec):
    kind: SourceKind
    title: str
    date: dt.date | None = None
    publisher: Key | None = None
    tk_document_nummer: str | None = None
    dossier_nummer: str | None = None
    kamerstuk: str | None = None
    url: str | None = None
    seed_file: str | None = None


class SeedRecommendation(_Prov):
    addressee: Key | None = None
    theme: Key | None = None
    title: str
    text: str
    response: str | None = None
    response_source: Key | None = None


class SeedCommitment(_Prov):
    title: str
    description: str | None = None
    owner: Key | None = None
    made_to: Key | None = None
    origin: CommitmentOrigin = CommitmentOrigin.other
    due_date: dt.date | None = None
    themes: list[Key] = Field(default_factory=list)
    recommendations: list[Key] = Field(default_factory=list)
    tk_toezegging_nummer: str | None = None


class SeedAction(_Prov):
    title: str
    description: str | None = None
    commitment: Key | None = None
    recommendation: Key | None = None
    owner: Key | None = None
    state: ActionState = ActionState.planned
    start_date: dt.date | None = None
    end_date: dt.date | None = None
    last_update_date: dt.date | None = None


class SeedIndicator(BaseModel):
    model_config = ConfigDict(extra="forbid")
    unit: str
    baseline_value: float | None = None
    baseline_date: dt.date | None = None
    target_value: float
    direction: Direction = Direction.increase


class SeedMeasurement(BaseModel):
    model_config = ConfigDict(extra="forbid")
    date: dt.date
    value: float
    source: Key | None = None
    section: str | None = None
    quote: str | None = None


class SeedMilestone(_Prov):
    title: str
    description: str | None = None
    commitment: Key | None = None
    action: Key | None = None
    due_date: dt.date
    indicator: SeedIndicator | None = None
    measurements: list[SeedMeasurement] = Field(default_factory=list)


class SeedDataset(BaseModel):
    model_config = ConfigDict(extra="forbid")
    version: int
    themes: list[SeedTheme] = Field(default_factory=list)
    parties: list[SeedParty] = Field(default_factory=list)
    sources: list[SeedSource] = Field(default_factory=list)
    recommendations: list[SeedRecommendation] = Field(default_factory=list)
    commitments: list[SeedCommitment] = Field(default_factory=list)
    actions: list[SeedAction] = Field(default_factory=list)
    milestones: list[SeedMilestone] = Field(default_factory=list)

    @model_validator(mode="after")
    def _references_resolve(self) -> SeedDataset:
        keys: dict[str, set[str]] = {}
        for section in (
            "themes",
            "parties",
            "sources",
            "recommendations",
            "commitments",
            "actions",
            "milestones",
        ):
            items = [r.key for r in getattr(self, section)]
            dupes = {k for k in items if items.count(k) > 1}
            if dupes:
                raise ValueError(f"duplicate keys in {section}: {sorted(dupes)}")
            keys[section] = set(items)
        refs: list[tuple[str, str | None, str]] = []
        for r in self.sources:
            refs.append(("parties", r.publisher, f"sources.{r.key}.publisher"))
        for section in ("recommendations", "commitments", "actions", "milestones"):
            for r in getattr(self, section):
                refs.append(("sources", r.source, f"{section}.{r.key}.source"))
        for rec in self.recommendations:
            refs += [
                ("parties", rec.addressee, f"recommendations.{rec.key}.addressee"),
                ("themes", rec.theme, f"recommendations.{rec.key}.theme"),
                ("sources", rec.response_source, f"recommendations.{rec.key}.response_source"),
            ]
        for com in self.commitments:
            refs += [
                ("parties", com.owner, f"commitments.{com.key}.owner"),
                ("parties", com.made_to, f"commitments.{com.key}.made_to"),
            ]
            refs += [("themes", t, f"commitments.{com.key}.themes") for t in com.themes]
            refs += [
                ("recommendations", t, f"commitments.{com.key}.recommendations") for t in com.recommendations
            ]
        for act in self.actions:
            refs += [
                ("commitments", act.commitment, f"actions.{act.key}.commitment"),
                ("recommendations", act.recommendation, f"actions.{act.key}.recommendation"),
                ("parties", act.owner, f"actions.{act.key}.owner"),
            ]
            if act.commitment is None and act.recommendation is None:
                raise ValueError(f"actions.{act.key}: needs a commitment or a recommendation")
        for ms in self.milestones:
            refs += [
                ("commitments", ms.commitment, f"milestones.{ms.key}.commitment"),
                ("actions", ms.action, f"milestones.{ms.key}.action"),
            ]
            refs += [("sources", m.source, f"milestones.{ms.key}.measurements") for m in ms.measurements]
            if (ms.commitment is None) == (ms.action is None):
                raise ValueError(f"milestones.{ms.key}: needs exactly one of commitment and action")
        missing = [
            where + f" -> {key!r}"
            for section, key, where in refs
            if key is not None and key not in keys[section]
        ]
        if missing:
            raise ValueError("unresolved references: " + "; ".join(missing[:20]))
        return self


def read_dataset(path: Path = SEED_FILE) -> SeedDataset:
    return SeedDataset.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))


def dataset_digest(data: SeedDataset) -> str:
    """Fingerprint of a dataset's content: a released version keeps its digest (see SUPERSEDED_FILE)."""
    canonical = json.dumps(data.model_dump(mode="json"), sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def read_superseded(path: Path = SUPERSEDED_FILE) -> dict[str, Any]:
    if not path.exists():
        return {"digests": {}, "values": {}}
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def _id(section: str, key: str | None) -> Any:
    return seed_id(section, key) if key else None


def _prov(record: Any) -> dict[str, Any]:
    return {
        "source_id": _id("sources", record.source),
        "source_section": record.section,
        "source_quote": record.quote,
    }


def plain(value: Any) -> Any:
    """A column value as YAML can hold it, so stored and released values compare alike on both backends."""
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    return value


@dataclass(frozen=True)
class SeedRow:
    """One seed record as the columns it sets; `links` (many-to-many) are set when the record is inserted."""

    section: str
    key: str
    model: type[Base]
    pk: Any
    values: dict[str, Any]
    links: dict[str, list[str]] = field(default_factory=dict)


def seed_rows(data: SeedDataset) -> list[SeedRow]:
    """Every record of the dataset as rows, in insertion order (referenced records first)."""
    rows = [
        SeedRow("themes", t.key, Theme, t.key, {"label_nl": t.label_nl, "label_en": t.label_en})
        for t in data.themes
    ]
    rows += [SeedRow("parties", p.key, Party, _id("parties", p.key), p.model_dump()) for p in data.parties]
    rows += [
        SeedRow(
            "sources",
            s.key,
            Source,
            _id("sources", s.key),
            {
                "key": s.key,
                "publisher_party_id": _id("parties", s.publisher),
                **s.model_dump(exclude={"key", "publisher"}),
            },
        )
        for s in data.sources
    ]
    rows += [
        SeedRow(
            "recommendations",
            r.key,
            Recommendation,
            _id("recommendations", r.key),
            {
                "key": r.key,
                "title": r.title,
                "text": r.text,
                "response": r.response,
                "addressee_party_id": _id("parties", r.addressee),
                "theme_key": r.theme,
                "response_source_id": _id("sources", r.response_source),
                **_prov(r),
            },
        )
        for r in data.recommendations
    ]
    rows += [
        SeedRow(
            "commitments",
            c.key,
            Commitment,
            _id("commitments", c.key),
            {
                "key": c.key,
                "title": c.title,
                "description": c.description,
                "owner_party_id": _id("parties", c.owner),
                "made_to_party_id": _id("parties", c.made_to),
                "origin": c.origin,
                "due_date": c.due_date,
                "tk_toezegging_nummer": c.tk_toezegging_nummer,
                **_prov(c),
            },
            {"themes": c.themes, "recommendations": c.recommendations},
        )
        for c in data.commitments
    ]
    rows += [
        SeedRow(
            "actions",
            a.key,
            Action,
            _id("actions", a.key),
            {
                "key": a.key,
                "title": a.title,
                "description": a.description,
                "commitment_id": _id("commitments", a.commitment),
                "recommendation_id": _id("recommendations", a.recommendation),
                "owner_party_id": _id("parties", a.owner),
                "state": a.state,
                "start_date": a.start_date,
                "end_date": a.end_date,
                "last_update_date": a.last_update_date,
                **_prov(a),
            },
        )
        for a in data.actions
    ]
    for m in data.milestones:
        ind = m.indicator
        rows.append(
            SeedRow(
                "milestones",
                m.key,
                Milestone,
                _id("milestones", m.key),
                {
                    "key": m.key,
                    "title": m.title,
                    "description": m.description,
                    "commitment_id": _id("commitments", m.commitment),
                    "action_id": _id("actions", m.action),
                    "due_date": m.due_date,
                    "indicator_unit": ind.unit if ind else None,
                    "baseline_value": ind.baseline_value if ind else None,
                    "baseline_date": ind.baseline_date if ind else None,
                    "target_value": ind.target_value if ind else None,
                    "direction": ind.direction if ind else None,
                    **_prov(m),
                },
            )
        )
    for m in data.milestones:
        for meas in m.measurements:
            key = f"{m.key}-{meas.date.isoformat()}"  # one measurement per milestone per date
            rows.append(
                SeedRow(
                    "measurements",
                    key,
                    Measurement,
                    _id("measurements", key),
                    {
                        "milestone_id": _id("milestones", m.key),
                        "date": meas.date,
                        "value": meas.value,
                        "source_id": _id("sources", meas.source),
                        "source_section": meas.section,
                        "source_quote": meas.quote,
                    },
                )
            )
    return rows


async def load_dataset(
    session: AsyncSession, data: SeedDataset | None = None, superseded: dict[str, Any] | None = None
) -> dict[str, int]:
    """Apply the dataset; returns counts per section of records inserted, updated or kept (empty: as loaded).

    A record that is not there yet is inserted (`<section>`). A record that is there and still holds a
    value an earlier dataset version released for it (SUPERSEDED_FILE) gets the corrected value
    (`<section>_updated`); a value that matches neither was edited through the API and is kept
    (`<section>_kept`, reported on every load while it differs). Many-to-many links (themes, recommendations
    of a commitment) are set on insert only.
    """
    data = data or read_dataset()
    released = (superseded if superseded is not None else read_superseded()).get("values", {})
    counts: dict[str, int] = {}

    def count(name: str) -> None:
        counts[name] = counts.get(name, 0) + 1

    themes: dict[str, Theme] = {}
    recs: dict[str, Recommendation] = {}
    section = None
    for row in seed_rows(data):
        if row.section != section:
            await session.flush()  # rows of the previous section exist before rows that refer to them
            section = row.section
        obj = await session.get(row.model, row.pk)
        if obj is None:
            links = {
                "themes": [themes[k] for k in row.links.get("themes", [])],
                "recommendations": [recs[k] for k in row.links.get("recommendations", [])],
            }
            obj = row.model(
                **({"key": row.key} if row.model is Theme else {"id": row.pk}),
                **row.values,
                **{name: links[name] for name in row.links},
            )
            session.add(obj)
            count(row.section)
        else:
            for outcome in _update(obj, row, released.get(row.section, {}).get(row.key, {})):
                count(f"{row.section}_{outcome}")
        if isinstance(obj, Theme):
            themes[row.key] = obj
        elif isinstance(obj, Recommendation):
            recs[row.key] = obj
    await session.flush()
    return counts


def _update(obj: Any, row: SeedRow, released: dict[str, list[Any]]) -> set[str]:
    """{'updated'} when a superseded seed value was corrected, {'kept'} when an edited value was left alone
    (both when a record has one of each)."""
    outcomes: set[str] = set()
    for name, value in row.values.items():
        current = plain(getattr(obj, name))
        if current == plain(value):
            continue
        if current in released.get(name, ()):
            setattr(obj, name, value)
            outcomes.add("updated")
        else:
            outcomes.add("kept")
    return outcomes
