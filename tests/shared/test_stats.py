import pytest

from shared.stats import poisson_rise


def test_clear_rise_is_significant() -> None:
    result = poisson_rise(12, 30, 12, 180)  # 12 in 30 days vs 2 expected
    assert result.significant and result.p_value < 0.001
    assert result.expected == pytest.approx(2.0)


def test_steady_rate_is_not() -> None:
    assert not poisson_rise(6, 30, 36, 180).significant


def test_too_few_recent_signals_never_significant() -> None:
    result = poisson_rise(4, 30, 0, 180)
    assert not result.significant and result.p_value == 1.0


def test_bad_periods_rejected() -> None:
    with pytest.raises(ValueError):
        poisson_rise(5, 0, 1, 180)
