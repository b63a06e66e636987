"""Attacks on the public aggregates (issue 11): for random small datasets, every pair of public answers a caller
could combine (windows shifted by a day or a month, a table's total from another grouping, filter complements,
derived figures) must recover no count of 1..N-1. The attacker is checked against main's answers too: it finds
the leaks main had (baseline_rate_per_day times the days; group_by=month total minus visible zorgkantoor cells).
Both backends."""

from __future__ import annotations

import datetime as dt
import itertools
import json
import uuid
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from scipy.stats import poisson

from tests.factories import signal

N = 5  # NAKOMING_MIN_CELL in the tests
THEMES = ("bejegening", "sociale-veiligheid")
PARTITIONS = ("theme", "provider", "location", "zorgkantoor", "month")  # every signal below has one theme
WINDOWS = [
    (None, None),
    ("2026-01-02", "2026-03-31"),
    ("2026-02-01", "2026-03-31"),
    ("2026-01-01", "2026-02-28"),
    ("2026-02-02", "2026-02-27"),
]
FILTERS = [(None, None), ("bejegening", None), (None, "klacht"), ("bejegening", "klacht")]


@dataclass
class Table:
    """One answer as an attacker sees it: cells by group, each an int (exact), 'small' ('<N') or 'withheld'."""

    population: tuple[Any, ...]  # (window, theme, kind, provider): who is counted
    group_by: str
    cells: dict[Any, Any]
    listed: bool = True
    derived: dict[str, Any] = field(default_factory=dict)
    lowest: int = 1  # the least a hidden small cell can hold: a trend also hides empty months ('<N' for 0)

    @property
    def total(self) -> int | None:
        """The population's size when every cell is exact (a partition's total), else None."""
        if not self.listed or any(not isinstance(c, int) for c in self.cells.values()):
            return None
        return sum(self.cells.values())


def _cell(item: dict[str, Any]) -> Any:
    if not item["suppressed"]:
        return item["count"]
    return "small" if isinstance(item["count"], str) else "withheld"


def _months(lo: str | None, hi: str | None) -> tuple[str, str]:
    return ((lo or "2026-01-01")[:7], (hi or "2026-03-31")[:7])


def stats_table(body: dict[str, Any]) -> Table:
    window = _months(body["from"], body["to"])
    return Table(
        (window, body["theme"], body["kind"], None),
        body["group_by"],
        {c["group"]: _cell(c) for c in body["items"]},
        listed=not body.get("suppressed", False),
    )


def trend_table(body: dict[str, Any]) -> Table:
    periods = body["periods"]
    window = (periods[0]["period"], periods[-1]["period"])
    return Table(
        (window, body["theme"], None, body["provider"]),
        "month",
        {p["period"]: _cell(p) for p in periods},
        lowest=0,
        derived={
            "rate": body["baseline_rate_per_day"],
            "p": body["rise"]["p_value"],
            "expected": body["rise"]["expected"],
            "last": _cell(body["last_period"]),
            "last_period": periods[-1]["period"],
            "days": sum(
                (dt.date.fromisoformat(p["end"]) - dt.date.fromisoformat(p["start"])).days + 1
                for p in periods[:-1]
            ),
        },
    )


def pinned(total: int, table: Table) -> list[Any]:
    """Small cells of `table` whose count follows from the population's total: lowest bound == highest bound.
    A recovered zero identifies no one and is not reported."""
    hidden = {g: c for g, c in table.cells.items() if not isinstance(c, int)}
    rest = total - sum(c for c in table.cells.values() if isinstance(c, int))
    ranges = {g: (table.lowest, N - 1) if c == "small" else (N, float("inf")) for g, c in hidden.items()}
    found = []
    for g, c in hidden.items():
        if c != "small":
            continue
        others = [r for h, r in ranges.items() if h != g]
        high = min(N - 1, rest - sum(lo for lo, _ in others))
        low = max(table.lowest, rest - sum(hi for _, hi in others))
        if low == high and low > 0:
            found.append((g, low))
    return found


def same_population_totals(tables: list[Table]) -> dict[tuple[Any, ...], set[int]]:
    """Every population whose size one answer gives exactly: a partition with all cells exact, or one exact cell
    of a theme or month table (the population of that theme, or of that month)."""
    known: dict[tuple[Any, ...], set[int]] = {}
    for t in tables:
        if t.total is not None and t.group_by in PARTITIONS:
            known.setdefault(t.population, set()).add(t.total)
        window, theme, kind, provider = t.population
        for group, count in t.cells.items():
            if not isinstance(count, int) or provider is not None:
                continue
            if t.group_by == "theme" and theme in (None, group):
                known.setdefault((window, group, kind, None), set()).add(count)
            elif t.group_by == "month" and window[0] <= group <= window[1]:
                known.setdefault(((group, group), theme, kind, None), set()).add(count)
    return known


def attack(tables: list[Table]) -> list[str]:
    """What a caller recovers from pairs of answers: a list of findings (empty when nothing leaks)."""
    leaks = []
    # 1. Totals from one answer minus the visible cells of another answer over the same population.
    known = same_population_totals(tables)
    for t in tables:
        if t.group_by in PARTITIONS and t.listed:
            for total in known.get(t.population, ()):
                for g, value in pinned(total, t):
                    leaks.append(
                        f"total {total} of {t.population} minus visible {t.group_by} cells: {g}={value}"
                    )
    # 2. Two answers over nested populations (a window inside another, a filter added): a difference of 1..N-1.
    for a, b in itertools.permutations(tables, 2):
        if (
            a.group_by != b.group_by
            or not _contains(a.population, b.population)
            or a.population == b.population
        ):
            continue
        for g, count in a.cells.items():
            other = b.cells.get(g, 0 if b.listed and _covers_group(b, g) else None)
            if isinstance(count, int) and isinstance(other, int) and 0 < count - other < N:
                leaks.append(f"{a.population} minus {b.population}, {a.group_by}={g}: {count - other}")
        if a.total is not None and b.total is not None and 0 < a.total - b.total < N:
            leaks.append(f"table totals {a.population} minus {b.population}: {a.total - b.total}")
    # 3. Derived figures of a trend: the baseline rate times its days, the p-value of a hidden last month.
    for t in tables:
        d = t.derived
        if not d:
            continue
        months = list(t.cells)
        baseline = {m: t.cells[m] for m in months[:-1]}
        hidden = [m for m, c in baseline.items() if not isinstance(c, int)]
        if d["rate"] is not None and len(hidden) == 1:
            value = round(d["rate"] * d["days"]) - sum(c for c in baseline.values() if isinstance(c, int))
            leaks.append(f"baseline_rate_per_day x days gives {hidden[0]} of {t.population}: {value}")
        if d["p"] is not None and d["expected"] is not None and not isinstance(d["last"], int):
            matches = [k for k in range(N) if round(float(poisson.sf(k - 1, d["expected"])), 6) == d["p"]]
            if len(matches) == 1:
                leaks.append(f"p_value gives the hidden last month of {t.population}: {matches[0]}")
    return leaks


def _contains(outer: tuple[Any, ...], inner: tuple[Any, ...]) -> bool:
    (o_lo, o_hi), *o_filters = outer
    (i_lo, i_hi), *i_filters = inner
    return o_lo <= i_lo and i_hi <= o_hi and all(o is None or o == i for o, i in zip(o_filters, i_filters))


def _covers_group(table: Table, group: Any) -> bool:
    """A listed table that shows no cell for `group` says it has none (except a month outside its window)."""
    if table.group_by == "month":
        lo, hi = table.population[0]
        return lo <= group <= hi
    return True


@pytest.fixture(autouse=True)
def patient_limiter(app: Any) -> None:
    # An attacker asks many questions, here all from one address within a minute: counted apart from other tests.
    app.state.rate_limiter.prefix = f"test-attack-{uuid.uuid4().hex}"
    app.state.rate_limiter.per_minute = 1_000_000


# -- main's answers: the attacker finds the two leaks the issue names ------------------------------------------


def test_the_attacker_finds_mains_leaks() -> None:
    window = ("2026-01", "2026-03")
    # zorgkantoor 2222 had 2 signals; main showed the month total and the other cell exactly.
    by_month = Table((window, None, None, None), "month", {"2026-01": 8, "2026-02": 5})
    by_office = Table((window, None, None, None), "zorgkantoor", {"1111": 11, "2222": "small"})
    assert attack([by_month, by_office]) == [
        f"total 13 of {(window, None, None, None)} minus visible zorgkantoor cells: 2222=2"
    ]
    # Main's trend: a hidden month of 3 among 6 and 7, and the rate over the three months.
    trend = Table(
        (window, "bejegening", None, None),
        "month",
        {"2026-01": 6, "2026-02": "small", "2026-03": 7, "2026-04": 9},
        derived={"rate": round(16 / 90, 6), "p": None, "expected": None, "last": 9, "days": 90},
    )
    assert attack([trend]) == [f"baseline_rate_per_day x days gives 2026-02 of {trend.population}: 3"]
    # A window shifted by a day, and a filter complement.
    wide = Table((window, None, None, None), "provider", {"11111111": 9})
    narrow = Table((("2026-02", "2026-03"), None, None, None), "provider", {"11111111": 7})
    themed = Table((window, "bejegening", None, None), "provider", {"11111111": 6})
    assert len(attack([wide, narrow, themed])) == 4  # each difference as a cell and as a table total


# -- the attack on the running API -------------------------------------------------------------------------------

RECORD = st.fixed_dictionaries(
    {
        "month": st.sampled_from([1, 2, 3]),
        "day": st.integers(1, 28),
        "zorgkantoor_code": st.sampled_from(["1111", "2222", None]),
        "provider_agb": st.sampled_from(["11111111", "22222222"]),
        "location": st.sampled_from(["Noord", "Zuid"]),
        "kind": st.sampled_from(["klacht", "signaal"]),
        "theme": st.sampled_from(THEMES),
    }
)
# Groups of identical signals make counts around N likely.
DATASETS = st.lists(st.tuples(RECORD, st.integers(1, 7)), min_size=1, max_size=6)


async def _load(client: httpx.AsyncClient, intake: dict, queue: Any, dataset: list[tuple[dict, int]]) -> None:
    lines = []
    for record, times in dataset:
        for _ in range(times):
            lines.append(
                json.dumps(
                    signal(
                        external_id=f"A-{uuid.uuid4().hex[:12]}",
                        kind=record["kind"],
                        themes=[record["theme"]],
                        received_date=f"2026-{record['month']:02d}-{record['day']:02d}",
                        provider_agb=record["provider_agb"],
                        location=record["location"],
                        zorgkantoor_code=record["zorgkantoor_code"],
                    )
                )
            )
    r = await client.post(
        "/v1/signals/batches",
        content="\n".join(lines).encode(),
        headers={**intake, "content-type": "application/x-ndjson"},
    )
    assert r.status_code == 202, r.text
    await queue.drain()


async def _answers(client: httpx.AsyncClient) -> list[Table]:
    tables = []
    for group_by, (lo, hi), (theme, kind) in itertools.product(PARTITIONS, WINDOWS, FILTERS):
        params = {
            k: v
            for k, v in {"group_by": group_by, "from": lo, "to": hi, "theme": theme, "kind": kind}.items()
            if v is not None
        }
        r = await client.get("/v1/signals/stats", params=params)
        assert r.status_code == 200, r.text
        tables.append(stats_table(r.json()))
    for theme, provider, until in itertools.product(
        [None, "bejegening"], [None, "11111111"], ["2026-03-31", "2026-03-30"]
    ):
        params = {
            k: v for k, v in {"theme": theme, "provider": provider, "until": until, "months": 3}.items() if v
        }
        r = await client.get("/v1/signals/trends", params=params)
        assert r.status_code == 200, r.text
        tables.append(trend_table(r.json()))
    return tables


@given(dataset=DATASETS)
@hsettings(max_examples=10, deadline=None, suppress_health_check=list(HealthCheck))
async def test_no_pair_of_answers_recovers_a_small_count(
    client: httpx.AsyncClient,
    connection: Any,
    themes: None,
    intake: dict,
    queue: Any,
    dataset: list[tuple[dict, int]],
) -> None:
    example = await connection.begin_nested()  # each dataset alone in the database
    try:
        await _load(client, intake, queue, dataset)
        tables = await _answers(client)
    finally:
        await example.rollback()
    assert attack(tables) == []
    # Windows a day apart are answered alike (whole months).
    by_query = {(t.group_by, t.population, bool(t.derived)): t for t in tables}
    assert len(by_query) < len(tables)
    for t in tables:
        assert by_query[t.group_by, t.population, bool(t.derived)] == t


@pytest.mark.parametrize("counts", [(6, 2), (10, 2), (3, 4)])
async def test_the_named_leaks_are_closed(
    client: httpx.AsyncClient, themes: None, intake: dict, queue: Any, counts: tuple[int, int]
) -> None:
    """group_by=month total minus visible zorgkantoor cells, and baseline_rate_per_day x days, on fixed data."""
    first, second = counts
    dataset = [
        (
            {
                "month": 1,
                "day": 5,
                "zorgkantoor_code": "1111",
                "provider_agb": "11111111",
                "location": "Noord",
                "kind": "klacht",
                "theme": "bejegening",
            },
            first,
        ),
        (
            {
                "month": 1,
                "day": 6,
                "zorgkantoor_code": "2222",
                "provider_agb": "11111111",
                "location": "Noord",
                "kind": "klacht",
                "theme": "bejegening",
            },
            second,
        ),
        (
            {
                "month": 3,
                "day": 6,
                "zorgkantoor_code": "1111",
                "provider_agb": "11111111",
                "location": "Noord",
                "kind": "klacht",
                "theme": "bejegening",
            },
            6,
        ),
    ]
    await _load(client, intake, queue, dataset)
    tables = await _answers(client)
    assert attack(tables) == []
    offices = next(
        t
        for t in tables
        if t.group_by == "zorgkantoor" and t.population == (("2026-01", "2026-03"), None, None, None)
    )
    assert not offices.listed or offices.cells.get("2222") == "small"
    trend = next(t for t in tables if t.derived and t.population[1:] == (None, None, None))
    assert trend.derived["rate"] is None  # February is empty: hidden, so no rate
