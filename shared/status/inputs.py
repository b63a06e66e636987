"""Plain input dataclasses: everything a rule may look at, loaded beforehand (rules never touch the DB)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, NamedTuple


def _default(name: str) -> Any:
    from shared.settings import Settings

    return Settings.model_fields[name].default


@dataclass(frozen=True)
class Thresholds:
    """The status engine's thresholds: NAKOMING_* settings, one definition (shared/settings.py) for their
    defaults too; the signal-rise test of /v1/signals/trends reads the same ones."""

    due_soon_days: int = _default("due_soon_days")
    stale_action_days: int = _default("stale_action_days")
    signal_recent_days: int = _default("signal_recent_days")
    signal_baseline_days: int = _default("signal_baseline_days")
    signal_alpha: float = _default("signal_alpha")
    signal_min_count: int = _default("signal_min_count")
    min_cell: int = _default(
        "min_cell"
    )  # counts below this are never shown in evidence (as in the statistics)

    @classmethod
    def from_settings(cls, settings: Any) -> Thresholds:
        return cls(**{name: getattr(settings, name) for name in cls.__dataclass_fields__})


@dataclass(frozen=True)
class TkDocumentInput:
    id: str | None
    nummer: str | None
    titel: str | None = None
    datum: dt.date | None = None
    sample: bool = False  # from the bundled sample snapshot, not the live feed


@dataclass(frozen=True)
class TkInput:
    """The linked Tweede Kamer toezegging, as mirrored (raw status kept as received)."""

    nummer: str
    status: str | None
    datum_nakoming: dt.date | None = None
    fulfilment_letter: TkDocumentInput | None = None  # the first of fulfilment_letters
    removed: bool = False
    fulfilment_letters: tuple[TkDocumentInput, ...] = ()  # every kamerbriefNakoming, in feed order
    sample: bool = False  # from the bundled sample snapshot, not the live feed

    @property
    def letters(self) -> tuple[TkDocumentInput, ...]:
        if self.fulfilment_letters:
            return self.fulfilment_letters
        return (self.fulfilment_letter,) if self.fulfilment_letter is not None else ()


class MeasurementInput(NamedTuple):  # a tuple: there are a million of these in a full run
    date: dt.date
    value: float
    id: Any = None  # the measurement's id (uuid or str), for evidence


class MeasurementSummary(NamedTuple):
    """A milestone's measurements dated up to `upto`, reduced to what the milestone rule reads: the latest
    one and the sums of the least-squares fit, with x = days from the milestone's due date (integers, so
    `sx` and `sxx` are exact). The database computes these per milestone in a full run (one row per milestone
    instead of one per measurement); shared.status.rules.summarise computes the same from the points.
    Measurement dates are unique per milestone (a constraint in the database; summarise keeps one per date)."""

    upto: dt.date
    n: int = 0
    latest_date: dt.date | None = None
    latest_value: float | None = None
    sx: int = 0  # sum of x
    sxx: int = 0  # sum of x * x
    sy: float = 0.0  # sum of values
    sxy: float = 0.0  # sum of x * value
    latest_id: Any = None
    # The latest measurement on or before the milestone's due date (what "met by the due date" reads) ...
    due_date: dt.date | None = None
    due_value: float | None = None
    due_id: Any = None
    # ... and the first one after the due date (up to `upto`) that reaches the target: met, but late.
    late_date: dt.date | None = None
    late_value: float | None = None
    late_id: Any = None


class MilestoneInput(NamedTuple):  # tuples: a full run builds hundreds of thousands of these
    id: str
    title: str
    due_date: dt.date
    target_value: float | None = None
    baseline_value: float | None = None
    baseline_date: dt.date | None = None
    decreasing: bool = False
    measurements: tuple[MeasurementInput, ...] = ()  # any order; rules sort
    # Instead of `measurements`: the same measurements already summarised (up to the as_of evaluated).
    summary: MeasurementSummary | None = None
    reached_on: dt.date | None = None  # recorded as reached (milestones without an indicator, mostly)
    evidence: tuple[
        dict[str, Any], ...
    ] = ()  # what shows it was reached: url / tk_document_nummer / source_id


class ActionInput(NamedTuple):
    id: str
    title: str
    state: str  # planned | in_progress | done | blocked | cancelled
    last_update_date: dt.date | None = None
    created_date: dt.date | None = None


class PartySignalCounts(NamedTuple):
    party_id: str
    recent: int
    baseline: int


@dataclass(frozen=True)
class SignalCounts:
    """Distinct client signals that concern the commitment, per window: linked to it, or about its owner or a
    subject party (by provider party, AGB code or zorgkantoor code) on one of its themes."""

    recent: int
    baseline: int
    recent_days: int = 30
    baseline_days: int = 180
    themes: tuple[str, ...] = ()
    parties: tuple[PartySignalCounts, ...] = ()  # per party (a signal may concern more than one)
    linked_recent: int = 0
    linked_baseline: int = 0


@dataclass(frozen=True)
class OverrideInput:
    status: str
    reason: str
    expires_at: dt.datetime | None
    set_by: str | None = None
    set_at: dt.datetime | None = None


@dataclass(frozen=True)
class FulfilmentInput:
    """A fulfilment record: the promiser's claim, with the reviewer's decision (None = not yet reviewed)."""

    id: str
    kind: str  # fulfilled | partially_fulfilled
    date: dt.date
    summary: str
    evidence: tuple[dict[str, Any], ...] = ()
    period_start: dt.date | None = None
    review: str | None = None  # accepted | rejected
    reviewed_by: str | None = None
    review_note: str | None = None


@dataclass(frozen=True)
class RecurrenceInput:
    unit: str  # month | quarter | year
    start: dt.date


@dataclass(frozen=True)
class CommitmentInput:
    id: str
    due_date: dt.date | None = None
    tk: TkInput | None = None
    tk_toezegging_nummer: str | None = None
    milestones: tuple[MilestoneInput, ...] = ()
    actions: tuple[ActionInput, ...] = ()
    signals: SignalCounts | None = None
    override: OverrideInput | None = None
    fulfilments: tuple[FulfilmentInput, ...] = ()
    recurrence: RecurrenceInput | None = None
