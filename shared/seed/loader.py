"""Loads the versioned seed dataset (shared/seed/data/seed.yaml; format in FORMAT.md).

Ids are UUIDv5 of (section, key), so loading twice changes nothing: a record that exists is left
as it is (edits made through the API are not overwritten).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator
from sqlalchemy.ext.asyncio import AsyncSession

from shared.actions.models import Action, ActionState
from shared.commitments.models import Commitment, CommitmentOrigin
from shared.db import seed_id
from shared.milestones.models import Direction, Measurement, Milestone
from shared.parties.models import Party, PartyKind
from shared.recommendations.models import Recommendation
from shared.sources.models import Source, SourceKind
from shared.themes.models import Theme

SEED_FILE = Path(__file__).resolve().parent / "data" / "seed.yaml"
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
    def _references_resolve(self) -> "SeedDataset":
        keys: dict[str, set[str]] = {}
        for section in ("themes", "parties", "sources", "recommendations", "commitments", "actions", "milestones"):
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
        for r in self.recommendations:
            refs += [("parties", r.addressee, f"recommendations.{r.key}.addressee"),
                     ("themes", r.theme, f"recommendations.{r.key}.theme"),
                     ("sources", r.response_source, f"recommendations.{r.key}.response_source")]
        for r in self.commitments:
            refs += [("parties", r.owner, f"commitments.{r.key}.owner"), ("parties", r.made_to, f"commitments.{r.key}.made_to")]
            refs += [("themes", t, f"commitments.{r.key}.themes") for t in r.themes]
            refs += [("recommendations", t, f"commitments.{r.key}.recommendations") for t in r.recommendations]
        for r in self.actions:
            refs += [("commitments", r.commitment, f"actions.{r.key}.commitment"),
                     ("recommendations", r.recommendation, f"actions.{r.key}.recommendation"),
                     ("parties", r.owner, f"actions.{r.key}.owner")]
            if r.commitment is None and r.recommendation is None:
                raise ValueError(f"actions.{r.key}: needs a commitment or a recommendation")
        for r in self.milestones:
            refs += [("commitments", r.commitment, f"milestones.{r.key}.commitment"),
                     ("actions", r.action, f"milestones.{r.key}.action")]
            refs += [("sources", m.source, f"milestones.{r.key}.measurements") for m in r.measurements]
            if (r.commitment is None) == (r.action is None):
                raise ValueError(f"milestones.{r.key}: needs exactly one of commitment and action")
        missing = [where + f" -> {key!r}" for section, key, where in refs if key is not None and key not in keys[section]]
        if missing:
            raise ValueError("unresolved references: " + "; ".join(missing[:20]))
        return self


def read_dataset(path: Path = SEED_FILE) -> SeedDataset:
    return SeedDataset.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))


def _id(section: str, key: str | None) -> Any:
    return seed_id(section, key) if key else None


def _prov(record: Any) -> dict[str, Any]:
    return {"source_id": _id("sources", record.source), "source_section": record.section, "source_quote": record.quote}


async def load_dataset(session: AsyncSession, data: SeedDataset | None = None) -> dict[str, int]:
    """Insert the records that are not there yet; returns how many were added per section."""
    data = data or read_dataset()
    added: dict[str, int] = {}

    async def put(section: str, model: type, pk: Any, build: Any) -> Any:
        existing = await session.get(model, pk)
        if existing is not None:
            return existing
        obj = build()
        session.add(obj)
        added[section] = added.get(section, 0) + 1
        return obj

    themes: dict[str, Theme] = {}
    for t in data.themes:
        themes[t.key] = await put("themes", Theme, t.key, lambda t=t: Theme(key=t.key, label_nl=t.label_nl, label_en=t.label_en))
    for p in data.parties:
        await put("parties", Party, _id("parties", p.key), lambda p=p: Party(
            id=_id("parties", p.key), **p.model_dump()))
    await session.flush()
    for s in data.sources:
        await put("sources", Source, _id("sources", s.key), lambda s=s: Source(
            id=_id("sources", s.key), publisher_party_id=_id("parties", s.publisher),
            **s.model_dump(exclude={"publisher"})))
    await session.flush()
    recs: dict[str, Recommendation] = {}
    for r in data.recommendations:
        recs[r.key] = await put("recommendations", Recommendation, _id("recommendations", r.key), lambda r=r: Recommendation(
            id=_id("recommendations", r.key), key=r.key, title=r.title, text=r.text, response=r.response,
            addressee_party_id=_id("parties", r.addressee), theme_key=r.theme,
            response_source_id=_id("sources", r.response_source), **_prov(r)))
    await session.flush()
    for c in data.commitments:
        await put("commitments", Commitment, _id("commitments", c.key), lambda c=c: Commitment(
            id=_id("commitments", c.key), key=c.key, title=c.title, description=c.description,
            owner_party_id=_id("parties", c.owner), made_to_party_id=_id("parties", c.made_to), origin=c.origin,
            due_date=c.due_date, tk_toezegging_nummer=c.tk_toezegging_nummer,
            themes=[themes[k] for k in c.themes], recommendations=[recs[k] for k in c.recommendations], **_prov(c)))
    await session.flush()
    for a in data.actions:
        await put("actions", Action, _id("actions", a.key), lambda a=a: Action(
            id=_id("actions", a.key), key=a.key, title=a.title, description=a.description,
            commitment_id=_id("commitments", a.commitment), recommendation_id=_id("recommendations", a.recommendation),
            owner_party_id=_id("parties", a.owner), state=a.state, start_date=a.start_date, end_date=a.end_date,
            last_update_date=a.last_update_date, **_prov(a)))
    await session.flush()
    for m in data.milestones:
        ind = m.indicator
        await put("milestones", Milestone, _id("milestones", m.key), lambda m=m, ind=ind: Milestone(
            id=_id("milestones", m.key), key=m.key, title=m.title, description=m.description,
            commitment_id=_id("commitments", m.commitment), action_id=_id("actions", m.action), due_date=m.due_date,
            indicator_unit=ind.unit if ind else None, baseline_value=ind.baseline_value if ind else None,
            baseline_date=ind.baseline_date if ind else None, target_value=ind.target_value if ind else None,
            direction=ind.direction if ind else None, **_prov(m)))
    await session.flush()
    for m in data.milestones:
        for meas in m.measurements:
            key = f"{m.key}-{meas.date.isoformat()}"
            await put("measurements", Measurement, _id("measurements", key), lambda m=m, meas=meas, key=key: Measurement(
                id=_id("measurements", key), milestone_id=_id("milestones", m.key), date=meas.date, value=meas.value,
                source_id=_id("sources", meas.source), source_section=meas.section, source_quote=meas.quote))
    await session.flush()
    return added
