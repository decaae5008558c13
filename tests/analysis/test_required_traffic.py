"""The closed form behind the LowTraffic warning: how much traffic a plan needs to catch a
doubled error rate by its end, judged by the harm test the controller runs."""

from __future__ import annotations

import pytest

from analysis.required_traffic import PlanShape, caught_at_final_look, required_rps
from analysis.settings import AnalysisSettings, Tolerance

DEFAULT_PLAN = PlanShape(weights=(10, 25, 50), step_seconds=120, interval_seconds=30)
SETTINGS = AnalysisSettings()


def test_a_doubled_error_rate_is_missed_at_1_rps_and_caught_at_1000() -> None:
    assert not caught_at_final_look(DEFAULT_PLAN, SETTINGS, rps=1, stable_error_rate=0.01)
    assert caught_at_final_look(DEFAULT_PLAN, SETTINGS, rps=1000, stable_error_rate=0.01)


def test_catching_is_monotone_in_the_rate() -> None:
    rates = [0.5 * 1.5**k for k in range(30)]
    caught = [
        caught_at_final_look(DEFAULT_PLAN, SETTINGS, rps=r, stable_error_rate=0.01) for r in rates
    ]
    assert caught == sorted(caught)
    assert caught[0] is False and caught[-1] is True


def test_the_required_rate_is_where_catching_starts() -> None:
    needed = required_rps(DEFAULT_PLAN, SETTINGS, stable_error_rate=0.01)

    # The decision benchmark at the fixed plan and harm margin 0: errors x2 at 50 rps caught in
    # about 90% of runs.
    assert needed is not None and 20 < needed < 100
    assert caught_at_final_look(DEFAULT_PLAN, SETTINGS, rps=needed, stable_error_rate=0.01)
    assert not caught_at_final_look(
        DEFAULT_PLAN, SETTINGS, rps=needed / 1.02, stable_error_rate=0.01
    )


def test_longer_steps_and_more_errors_need_less_traffic() -> None:
    longer = PlanShape(weights=(10, 25, 50), step_seconds=600, interval_seconds=30)
    base = required_rps(DEFAULT_PLAN, SETTINGS, stable_error_rate=0.01)
    assert base is not None
    slower = required_rps(longer, SETTINGS, stable_error_rate=0.01)
    assert slower is not None and slower < base
    busier = required_rps(DEFAULT_PLAN, SETTINGS, stable_error_rate=0.05)
    assert busier is not None and busier < base


def test_a_doubling_within_the_harm_margin_needs_no_rate_at_all() -> None:
    # 0.2% -> 0.4% is within a harm margin of max(0.5 pp, 20%): harm is never shown.
    wide = AnalysisSettings(error_rate_harm=Tolerance(0.005, 0.2))
    assert required_rps(DEFAULT_PLAN, wide, stable_error_rate=0.002) is None


def test_the_extension_at_the_last_weight_lowers_the_rate_needed() -> None:
    extended = PlanShape((10, 25, 50), step_seconds=120, interval_seconds=30, extension_seconds=180)
    base = required_rps(DEFAULT_PLAN, SETTINGS, stable_error_rate=0.01)
    longer = required_rps(extended, SETTINGS, stable_error_rate=0.01)
    assert base is not None and longer is not None and longer < base


def test_a_step_ends_at_the_first_look_after_its_duration() -> None:
    assert PlanShape((10,), step_seconds=100, interval_seconds=30).period_seconds == 120
    assert PlanShape((10,), step_seconds=10, interval_seconds=30).period_seconds == 30


@pytest.mark.parametrize(
    ("weights", "step", "interval"), [((), 60, 30), ((100,), 60, 30), ((10,), 0, 30)]
)
def test_unusable_plans_are_refused(
    weights: tuple[float, ...], step: float, interval: float
) -> None:
    with pytest.raises(ValueError):
        PlanShape(weights, step_seconds=step, interval_seconds=interval)
