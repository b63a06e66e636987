"""Which aggregate figures may be shown: no count under NAKOMING_MIN_CELL (N) can be computed back from any
two public answers (issue 11). Pure functions; shared/signals/stats.py feeds them counts.

The unit of publication is a month: windows are widened to whole calendar months, so two windows shifted by a
day give the same answer. A figure is then a sum of *atoms*, its group's counts per month, and is hidden when

* `small`: it is under N itself (shown as '<N');
* `month`: one of its atoms is 1..N-1: a shorter window (the same group without that month) would differ by
  fewer than N signals. With every atom 0 or >= N, any difference of two nested windows is 0 or >= N;
* `filter`: a filter (theme, kind, provider) leaves out 1..N-1 signals in some month: the same figure without
  the filter would differ by fewer than N;
* `complementary` (secondary suppression): a cell is small or hidden, and the total of the table is known from
  another answer (the same population grouped otherwise): the smallest visible cells are withheld too, until
  the hidden cells' sum no longer narrows any small cell below its full range 1..N-1. When no choice of cells
  achieves that, the table lists no cells at all (`table`).

Month series (group_by=month, trends) need no secondary suppression: a population with a small month has no
visible answer equal to its total (any cell or complete table covering it has that month as an atom).
Derived figures (rates, expected counts, p-values) are shown only when every count they depend on is shown.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

SMALL, MONTH, FILTER, COMPLEMENTARY, TABLE = "small", "month", "filter", "complementary", "table"
REASONS = {
    SMALL: "fewer than N signals (NAKOMING_MIN_CELL)",
    MONTH: "a month in the window holds 1..N-1 of these signals, which a shorter window would reveal",
    FILTER: "without the filter the figure differs by 1..N-1 signals in some month",
    COMPLEMENTARY: "withheld so that hidden cells cannot be computed from the total of the table",
    TABLE: "every choice of cells would let a hidden count be computed from the total; no cell is listed",
}
REASON_CODES = ", ".join(f"`{code}` ({text})" for code, text in REASONS.items())


def risky(n: int, min_cell: int) -> bool:
    """A difference or a count that identifies too few signals: 1..N-1 (0 reveals no one)."""
    return 0 < n < min_cell


def primary(
    count: int, atoms: Mapping[str, int], parents: Iterable[Mapping[str, int]], min_cell: int
) -> str | None:
    """Why a figure (`count`, its per-month `atoms`) is hidden on its own, or None. `parents` are the atoms of
    the same group with one filter or more dropped."""
    if count < min_cell:
        return SMALL
    if any(risky(n, min_cell) for n in atoms.values()):
        return MONTH
    for parent in parents:
        if any(risky(parent.get(m, 0) - atoms.get(m, 0), min_cell) for m in {*parent, *atoms}):
            return FILTER
    return None


def protected(counts: Sequence[int], reasons: Sequence[str | None], min_cell: int, lo: int) -> bool:
    """Knowing the table's total, can any small hidden cell be narrowed below lo..N-1? Hidden non-small cells are
    known to be >= N (else they would be small); small ones lo..N-1."""
    hidden = [i for i, r in enumerate(reasons) if r]
    total = sum(counts[i] for i in hidden)
    unbounded = sum(1 for i in hidden if reasons[i] != SMALL)
    floor = sum(lo if reasons[i] == SMALL else min_cell for i in hidden)
    ceiling = sum(min_cell - 1 for i in hidden if reasons[i] == SMALL)
    for i in hidden:
        if reasons[i] != SMALL:
            continue
        own_floor, own_ceiling = lo, min_cell - 1
        if total - (floor - own_floor) < own_ceiling:
            return False  # the others' minimum leaves too little room above
        if unbounded == 0 and total - (ceiling - own_ceiling) > own_floor:
            return False  # the others' maximum forces a lower bound
    return True


def secondary(
    counts: Sequence[int], reasons: Sequence[str | None], min_cell: int, lo: int = 1
) -> list[str | None] | None:
    """Reasons with complementary cells added (the smallest visible first), or None when no choice protects the
    small cells (the table is then not listed)."""
    out = list(reasons)
    if not any(out):
        return out
    visible = sorted((i for i, r in enumerate(out) if r is None), key=lambda i: (counts[i], i))
    while not protected(counts, out, min_cell, lo):
        if not visible:
            return None
        out[visible.pop(0)] = COMPLEMENTARY
    return out
