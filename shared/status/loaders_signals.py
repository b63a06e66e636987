"""Counts client signals per commitment for the signals rule (tables of the signals feature).

A commitment's signals are the distinct signals that carry one of its themes (from its owner's
provider, when the commitment has an owner) or that are linked to it directly. The index is built once
per run from the signals in the recent + baseline windows, then answers every commitment from memory,
so a full recalculation does not run one query per commitment.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import String, case, exists, func, select, type_coerce, union
from sqlalchemy.ext.asyncio import AsyncSession

from shared.signals.models import ClientSignal, client_signal_commitments, client_signal_themes
from shared.status.inputs import SignalCounts, Thresholds

client_signals = ClientSignal.__table__


@dataclass
class SignalIndex:
    as_of: dt.date
    recent_days: int
    baseline_days: int
    # theme -> provider (None = any) -> (recent signal ids, baseline signal ids)
    by_theme: dict[str, dict[Any, tuple[set[Any], set[Any]]]] = field(default_factory=dict)
    by_commitment: dict[uuid.UUID, tuple[set[Any], set[Any]]] = field(default_factory=dict)
    _memo: dict[tuple[Any, ...], tuple[int, int]] = field(default_factory=dict)

    @property
    def recent_start(self) -> dt.date:  # exclusive
        return self.as_of - dt.timedelta(days=self.recent_days)

    @property
    def baseline_start(self) -> dt.date:  # exclusive
        return self.recent_start - dt.timedelta(days=self.baseline_days)

    def _bucket(self, received: dt.date) -> int | None:
        if self.recent_start < received <= self.as_of:
            return 0
        if self.baseline_start < received <= self.recent_start:
            return 1
        return None

    def add_theme_signal(self, signal_id: Any, received: dt.date, provider: Any, theme: str) -> None:
        bucket = self._bucket(received)
        if bucket is None:
            return
        providers = self.by_theme.setdefault(theme, {})
        for key in (None, provider):
            providers.setdefault(key, (set(), set()))[bucket].add(signal_id)

    def add_commitment_signal(self, signal_id: Any, received: dt.date, commitment_id: uuid.UUID) -> None:
        bucket = self._bucket(received)
        if bucket is not None:
            self.by_commitment.setdefault(commitment_id, (set(), set()))[bucket].add(signal_id)

    def _theme_pairs(self, themes: tuple[str, ...], provider: Any) -> list[tuple[set[Any], set[Any]]]:
        return [p for p in (self.by_theme.get(t, {}).get(provider) for t in themes) if p]

    def _theme_counts(self, themes: tuple[str, ...], provider: Any) -> tuple[int, int]:
        # Many commitments share themes and owner: remember the counts, not the (large) sets.
        key = (themes, provider)
        pair = self._memo.get(key)
        if pair is None:
            pairs = self._theme_pairs(themes, provider)
            if len(pairs) == 1:
                pair = (len(pairs[0][0]), len(pairs[0][1]))
            else:
                recent: set[Any] = set()
                baseline: set[Any] = set()
                for item in pairs:
                    recent |= item[0]
                    baseline |= item[1]
                pair = (len(recent), len(baseline))
            self._memo[key] = pair
        return pair

    def counts(self, commitment_id: uuid.UUID, themes: Iterable[str], owner: uuid.UUID | None) -> SignalCounts:
        theme_key = tuple(sorted(themes))
        recent, baseline = self._theme_counts(theme_key, owner)
        direct = self.by_commitment.get(commitment_id)
        if direct:
            # The few signals linked to the commitment itself count once: only those not already on its themes.
            pairs = self._theme_pairs(theme_key, owner)
            recent += sum(1 for sid in direct[0] if not any(sid in p[0] for p in pairs))
            baseline += sum(1 for sid in direct[1] if not any(sid in p[1] for p in pairs))
        return SignalCounts(recent=recent, baseline=baseline, recent_days=self.recent_days,
                            baseline_days=self.baseline_days, themes=theme_key,
                            provider_party_id=str(owner) if owner else None)


async def build_signal_index(session: AsyncSession, as_of: dt.date, thresholds: Thresholds, *,
                             themes: Iterable[str] | None = None,
                             commitment_ids: Iterable[uuid.UUID] | None = None) -> SignalIndex:
    """Signals in the two windows; restricted to `themes` / `commitment_ids` when given (single recalcs)."""
    index = SignalIndex(as_of, thresholds.signal_recent_days, thresholds.signal_baseline_days)
    s, st, sc = client_signals.c, client_signal_themes.c, client_signal_commitments.c
    window = (s.received_date > index.baseline_start, s.received_date <= as_of)
    theme_query = select(s.id, s.received_date, s.provider_party_id, st.theme_key).join(
        client_signal_themes, st.signal_id == s.id).where(
            st.received_date > index.baseline_start, st.received_date <= as_of)
    if themes is not None:
        theme_list = sorted(set(themes))
        theme_query = theme_query.where(st.theme_key.in_(theme_list)) if theme_list else None
    if theme_query is not None:
        # The hot loop of a full run (hundreds of thousands of rows): bucket in SQL, plain locals here.
        recent_start = index.recent_start
        by_theme = index.by_theme
        rows = (await session.execute(theme_query.with_only_columns(
            type_coerce(s.id, String), s.provider_party_id, st.theme_key,
            case((st.received_date > recent_start, 0), else_=1)))).tuples().all()
        for signal_id, provider, theme, bucket in rows:
            providers = by_theme.get(theme)
            if providers is None:
                providers = by_theme[theme] = {}
            pair = providers.get(None)
            if pair is None:
                pair = providers[None] = (set(), set())
            pair[bucket].add(signal_id)
            pair = providers.get(provider)
            if pair is None:
                pair = providers[provider] = (set(), set())
            pair[bucket].add(signal_id)
    link_query = select(type_coerce(s.id, String), s.received_date, sc.commitment_id).join(
        client_signal_commitments, sc.signal_id == s.id).where(*window)
    if commitment_ids is not None:
        link_query = link_query.where(sc.commitment_id.in_(list(commitment_ids)))
    for row in (await session.execute(link_query)).tuples().all():
        index.add_commitment_signal(row[0], row[1], row[2])
    return index


async def count_signals(session: AsyncSession, commitment_id: uuid.UUID, themes: Iterable[str],
                        owner: uuid.UUID | None, as_of: dt.date, thresholds: Thresholds) -> SignalCounts:
    """The same counts for one commitment, counted by the database (single recalculations).

    Shaped for the indexes: by provider and date when there is an owner (then a key lookup of the theme),
    else by theme and date; plus the signals linked to the commitment directly.
    """
    index = SignalIndex(as_of, thresholds.signal_recent_days, thresholds.signal_baseline_days)
    s, st, sc = client_signals.c, client_signal_themes.c, client_signal_commitments.c
    theme_key = tuple(sorted(set(themes)))
    window = (s.received_date > index.baseline_start, s.received_date <= as_of)
    parts = [select(s.id, s.received_date).join(client_signal_commitments, sc.signal_id == s.id)
             .where(sc.commitment_id == commitment_id, *window)]
    if theme_key and owner is not None:
        parts.append(select(s.id, s.received_date).where(
            s.provider_party_id == owner, *window,
            exists().where(st.signal_id == s.id, st.theme_key.in_(theme_key))))
    elif theme_key:
        parts.append(select(st.signal_id, st.received_date).where(
            st.theme_key.in_(theme_key), st.received_date > index.baseline_start, st.received_date <= as_of))
    found = union(*parts).subquery()
    bucket = case((found.c.received_date > index.recent_start, 0), else_=1)
    rows = (await session.execute(select(bucket, func.count()).select_from(found).group_by(bucket))).tuples().all()
    counts = {bucket_no: count for bucket_no, count in rows}
    return SignalCounts(recent=counts.get(0, 0), baseline=counts.get(1, 0), recent_days=index.recent_days,
                        baseline_days=index.baseline_days, themes=theme_key,
                        provider_party_id=str(owner) if owner else None)
