"""The one significance test for "a rise in signals", shared by the status engine and the trends API."""

from __future__ import annotations

from dataclasses import dataclass

from scipy.stats import poisson


@dataclass(frozen=True)
class RiseTest:
    recent_count: int
    recent_days: int
    baseline_count: int
    baseline_days: int
    expected: float  # recent count expected at the baseline rate
    p_value: float  # P(X >= recent_count) under Poisson(expected); 1.0 when not testable
    significant: bool
    reason: str


def poisson_rise(
    recent_count: int,
    recent_days: int,
    baseline_count: int,
    baseline_days: int,
    *,
    alpha: float,
    min_count: int,
) -> RiseTest:
    """One-sided Poisson test: is the recent count significantly above the baseline rate? `alpha` and `min_count`
    come from the settings (NAKOMING_SIGNAL_ALPHA, NAKOMING_SIGNAL_MIN_COUNT), one definition for both callers.

    The baseline rate is baseline_count / baseline_days (a period with no signals counts as a rate of
    half a signal, so a first burst can still be judged). Needs at least `min_count` recent signals.
    """
    if recent_days <= 0 or baseline_days <= 0:
        raise ValueError("periods must be positive")
    rate = max(baseline_count, 0.5) / baseline_days
    expected = rate * recent_days
    if recent_count < min_count:
        return RiseTest(
            recent_count,
            recent_days,
            baseline_count,
            baseline_days,
            expected,
            1.0,
            False,
            f"fewer than {min_count} recent signals",
        )
    p_value = float(poisson.sf(recent_count - 1, expected))
    significant = p_value < alpha and recent_count > expected
    reason = f"{recent_count} in {recent_days} days against {expected:.1f} expected (p={p_value:.4f})"
    return RiseTest(
        recent_count, recent_days, baseline_count, baseline_days, expected, p_value, significant, reason
    )
