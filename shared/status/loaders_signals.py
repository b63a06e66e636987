"""Counts client signals per commitment for the signals rule (tables of the signals feature).

A signal counts for a commitment when it is linked to it, or when it is about the commitment's owner or one of
its subject parties (the signal's provider party, provider AGB code or zorgkantoor code is that party's) and
carries one of the commitment's themes. Each signal counts once, however many of these it matches.

The index is built once per full run from the signals in the recent + baseline windows, then answers every
commitment from memory; a single recalculation builds it restricted to the commitment's themes and parties.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from sqlalchemy import Select, String, case, select, type_coerce, union
from sqlalchemy.ext.asyncio import AsyncSession

from shared.parties.models import Party
from shared.signals.models import ClientSignal, client_signal_commitments, client_signal_themes
from shared.status.inputs import PartySignalCounts, SignalCounts, Thresholds

client_signals = ClientSignal.__table__
Ref = tuple[str, Any]  # ("party", id) | ("agb", code) | ("zk", code): what a signal may name a party by


class PartyRefs(NamedTuple):
    party_id: uuid.UUID
    refs: tuple[Ref, ...]


def party_refs(party_id: uuid.UUID, agb_code: str | None, zorgkantoor_code: str | None) -> PartyRefs:
    refs: list[Ref] = [("party", party_id)]
    if agb_code:
        refs.append(("agb", agb_code))
    if zorgkantoor_code:
        refs.append(("zk", zorgkantoor_code))
    return PartyRefs(party_id, tuple(refs))


async def load_party_refs(session: AsyncSession, ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, PartyRefs]:
    wanted = sorted({i for i in ids if i is not None})
    if not wanted:
        return {}
    p = Party.__table__.c
    rows = (
        await session.execute(select(p.id, p.agb_code, p.zorgkantoor_code).where(p.id.in_(wanted)))
    ).tuples()
    return {pid: party_refs(pid, agb, zk) for pid, agb, zk in rows}


Pair = tuple[set[Any], set[Any]]  # (recent signal ids, baseline signal ids)


@dataclass
class SignalIndex:
    as_of: dt.date
    recent_days: int
    baseline_days: int
    by_theme: dict[str, dict[Ref, Pair]] = field(default_factory=dict)  # theme -> party ref -> signal ids
    by_commitment: dict[uuid.UUID, Pair] = field(default_factory=dict)
    _memo: dict[tuple[Any, ...], tuple[Pair, tuple[PartySignalCounts, ...]]] = field(default_factory=dict)

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

    def add_theme_signal(self, signal_id: Any, bucket: int, theme: str, refs: Iterable[Ref]) -> None:
        by_ref = self.by_theme.get(theme)
        if by_ref is None:
            by_ref = self.by_theme[theme] = {}
        for ref in refs:
            pair = by_ref.get(ref)
            if pair is None:
                pair = by_ref[ref] = (set(), set())
            pair[bucket].add(signal_id)

    def add_commitment_signal(self, signal_id: Any, received: dt.date, commitment_id: uuid.UUID) -> None:
        bucket = self._bucket(received)
        if bucket is not None:
            self.by_commitment.setdefault(commitment_id, (set(), set()))[bucket].add(signal_id)

    def _union(self, pairs: Sequence[Pair]) -> Pair:
        if len(pairs) == 1:
            return pairs[0]
        recent: set[Any] = set()
        baseline: set[Any] = set()
        for item in pairs:
            recent |= item[0]
            baseline |= item[1]
        return recent, baseline

    def _about_parties(
        self, themes: tuple[str, ...], parties: tuple[PartyRefs, ...]
    ) -> tuple[Pair, tuple[PartySignalCounts, ...]]:
        # Many commitments share themes and parties: remember the result per combination.
        key = (themes, parties)
        found = self._memo.get(key)
        if found is None:
            per_party = []
            every: list[Pair] = []
            for party in parties:
                pairs = [p for t in themes for r in party.refs if (p := self.by_theme.get(t, {}).get(r))]
                union = self._union(pairs) if pairs else (set(), set())
                every.append(union)
                per_party.append(PartySignalCounts(str(party.party_id), len(union[0]), len(union[1])))
            found = self._memo[key] = (self._union(every) if every else (set(), set()), tuple(per_party))
        return found

    def counts(
        self, commitment_id: uuid.UUID, themes: Iterable[str], parties: Iterable[PartyRefs]
    ) -> SignalCounts:
        theme_key = tuple(sorted(themes))
        party_key = tuple(sorted(set(parties)))
        (recent_ids, baseline_ids), per_party = (
            self._about_parties(theme_key, party_key) if (theme_key and party_key) else ((set(), set()), ())
        )
        recent, baseline = len(recent_ids), len(baseline_ids)
        linked = self.by_commitment.get(commitment_id)
        linked_recent = linked_baseline = 0
        if linked:
            linked_recent, linked_baseline = len(linked[0]), len(linked[1])
            # A linked signal that is also about a party on a theme counts once.
            recent += sum(1 for sid in linked[0] if sid not in recent_ids)
            baseline += sum(1 for sid in linked[1] if sid not in baseline_ids)
        return SignalCounts(
            recent=recent,
            baseline=baseline,
            recent_days=self.recent_days,
            baseline_days=self.baseline_days,
            themes=theme_key,
            parties=per_party,
            linked_recent=linked_recent,
            linked_baseline=linked_baseline,
        )


async def build_signal_index(
    session: AsyncSession,
    as_of: dt.date,
    thresholds: Thresholds,
    *,
    themes: Iterable[str] | None = None,
    parties: Iterable[PartyRefs] | None = None,
    commitment_ids: Iterable[uuid.UUID] | None = None,
) -> SignalIndex:
    """Signals in the two windows; restricted to `themes`, `parties` and `commitment_ids` when given (a single
    recalculation reads only the signals that can concern its commitments)."""
    index = SignalIndex(as_of, thresholds.signal_recent_days, thresholds.signal_baseline_days)
    s, st, sc = client_signals.c, client_signal_themes.c, client_signal_commitments.c
    all_themes = (
        select(
            type_coerce(s.id, String),
            s.provider_party_id,
            s.provider_agb,
            s.zorgkantoor_code,
            st.theme_key,
            case((st.received_date > index.recent_start, 0), else_=1),
        )
        .join(client_signal_themes, st.signal_id == s.id)
        .where(st.received_date > index.baseline_start, st.received_date <= as_of)
    )
    theme_query: Select[Any] | None = all_themes
    if themes is not None or parties is not None:
        theme_list = sorted(set(themes or ()))
        party_list = list(parties or ())
        ids = [p.party_id for p in party_list]
        agbs = sorted({code for p in party_list for kind, code in p.refs if kind == "agb"})
        zks = sorted({code for p in party_list for kind, code in p.refs if kind == "zk"})
        if theme_list and party_list:
            # Driven by the parties' own indexes (provider party; AGB and zorgkantoor code with the date), one
            # select each, so a single recalculation reads only that party's signals, not a whole theme's.
            window = (s.received_date > index.baseline_start, s.received_date <= as_of)
            about = [select(s.id).where(s.provider_party_id.in_(ids), *window)]
            if agbs:
                about.append(select(s.id).where(s.provider_agb.in_(agbs), *window))
            if zks:
                about.append(select(s.id).where(s.zorgkantoor_code.in_(zks), *window))
            concerned = union(*about).subquery()
            theme_query = all_themes.join(concerned, concerned.c.id == s.id).where(
                st.theme_key.in_(theme_list)
            )
        else:
            theme_query = None
    if theme_query is not None:
        # The hot loop of a full run (hundreds of thousands of rows): bucketed in SQL, plain locals here.
        add = index.add_theme_signal
        for signal_id, provider, agb, zk, theme, bucket in (
            (await session.execute(theme_query)).tuples().all()
        ):
            refs: list[Ref] = []
            if provider is not None:
                refs.append(("party", provider))
            if agb:
                refs.append(("agb", agb))
            if zk:
                refs.append(("zk", zk))
            if refs:
                add(signal_id, bucket, theme, refs)
    link_query = (
        select(type_coerce(s.id, String), s.received_date, sc.commitment_id)
        .join(client_signal_commitments, sc.signal_id == s.id)
        .where(s.received_date > index.baseline_start, s.received_date <= as_of)
    )
    if commitment_ids is not None:
        link_query = link_query.where(sc.commitment_id.in_(list(commitment_ids)))
    for row in (await session.execute(link_query)).tuples().all():
        index.add_commitment_signal(row[0], row[1], row[2])
    return index
