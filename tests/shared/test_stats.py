import pytest

from shared.stats import poisson_rise as rise_test
from shared.status.inputs import Thresholds

T = Thresholds()


def poisson_rise(*args: int):  # the defaults of the settings
    return rise_test(*args, alpha=T.signal_alpha, min_count=T.signal_min_count)


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


def test_thresholds_come_from_the_caller() -> None:
    assert rise_test(6, 30, 6, 180, alpha=0.05, min_count=5).significant
    assert not rise_test(6, 30, 6, 180, alpha=0.05, min_count=7).significant
    assert not rise_test(6, 30, 6, 180, alpha=0.0001, min_count=5).significant
