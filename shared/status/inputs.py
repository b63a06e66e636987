"""Plain input dataclasses: everything a rule may look at, loaded beforehand (rules never touch the DB)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, NamedTuple


@dataclass(frozen=True)
class Thresholds:
    due_soon_days: int = 30
    stale_action_days: int = 90
    signal_recent_days: int = 30
    signal_baseline_days: int = 180
    signal_alpha: float = 0.05
    signal_min_count: int = 5

    @classmethod
    def from_settings(cls, settings: Any) -> "Thresholds":
        return cls(
            due_soon_days=settings.due_soon_days,
            stale_action_days=settings.stale_action_days,
            signal_recent_days=settings.signal_recent_days,
            signal_baseline_days=settings.signal_baseline_days,
            signal_alpha=settings.signal_alpha,
            signal_min_count=settings.signal_min_count,
        )


@dataclass(frozen=True)
class TkDocumentInput:
    id: str | None
    nummer: str | None
    titel: str | None = None
    datum: dt.date | None = None
    sample: bool = False  # from the bundled illustrative snapshot, not the parliament's feed


@dataclass(frozen=True)
class TkInput:
    """The linked Tweede Kamer toezegging, as mirrored (raw status kept as received)."""

    nummer: str
    status: str | None
    datum_nakoming: dt.date | None = None
    fulfilment_letter: TkDocumentInput | None = None  # the first of fulfilment_letters (for compatibility)
    removed: bool = False
    fulfilment_letters: tuple[TkDocumentInput, ...] = ()  # every kamerbriefNakoming, in feed order
    sample: bool = False  # the toezegging comes from the bundled illustrative snapshot


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


class ActionInput(NamedTuple):
    id: str
    title: str
    state: str  # planned | in_progress | done | blocked | cancelled
    last_update_date: dt.date | None = None
    created_date: dt.date | None = None


@dataclass(frozen=True)
class SignalCounts:
    """Distinct client signals on the commitment's themes (and owner) or linked to it, per window."""

    recent: int
    baseline: int
    recent_days: int = 30
    baseline_days: int = 180
    themes: tuple[str, ...] = ()
    provider_party_id: str | None = None


@dataclass(frozen=True)
class OverrideInput:
    status: str
    reason: str
    expires_at: dt.datetime | None
    set_by: str | None = None
    set_at: dt.datetime | None = None


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
