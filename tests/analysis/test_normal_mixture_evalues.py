"""The normal-mixture e-value and confidence sequence match their closed forms."""

from __future__ import annotations

import math

import numpy as np

from analysis import normal_mixture


def test_no_effect_gives_the_mixture_normalising_factor() -> None:
    # At d = 0 the half-normal mixture is sqrt(v / (v + tau^2)) * 2 * Phi(0),
    # which is sqrt(1/2) for v = tau^2.
    log_e = normal_mixture.log_evalue_greater(np.array(0.0), np.array(4.0), (2.0,))
    assert math.isclose(float(log_e), math.log(math.sqrt(0.5)), rel_tol=1e-12)


def test_a_large_positive_estimate_is_strong_evidence_and_a_negative_one_none() -> None:
    v = np.array(1e-6)
    strong = normal_mixture.log_evalue_greater(np.array(0.01), v, (0.005,))
    against = normal_mixture.log_evalue_greater(np.array(-0.01), v, (0.005,))
    # closed form: 0.5 log(v/s) + d^2 tau^2 / (2 v s) + log 2 + log Phi(d tau / sqrt(v s))
    s = 1e-6 + 0.005**2
    expected = 0.5 * math.log(1e-6 / s) + 0.01**2 * 0.005**2 / (2e-6 * s) + math.log(2.0)
    assert math.isclose(float(strong), expected, rel_tol=1e-9)
    assert float(against) < -3


def test_averaging_over_scales_is_the_mean_of_the_e_values() -> None:
    d, v = np.array(0.003), np.array(1e-6)
    each = [math.exp(float(normal_mixture.log_evalue_greater(d, v, (t,)))) for t in (0.001, 0.01)]
    both = math.exp(float(normal_mixture.log_evalue_greater(d, v, (0.001, 0.01))))
    assert math.isclose(both, sum(each) / 2, rel_tol=1e-12)


def test_radius_is_where_the_two_sided_mixture_reaches_one_over_alpha() -> None:
    v, tau, alpha = 2e-6, 0.004, 0.05
    r = float(normal_mixture.radius(np.array(v), tau, alpha))
    s = v + tau * tau
    two_sided = math.sqrt(v / s) * math.exp(r * r * tau * tau / (2 * v * s))
    assert math.isclose(two_sided, 1 / alpha, rel_tol=1e-9)


def test_the_reported_interval_agrees_with_the_harm_evalue() -> None:
    # Harm at level alpha on a margin m fires exactly when the interval's lower end clears m.
    import math

    import numpy as np

    from analysis.normal_mixture import evalue_radius, log_evalue_greater

    taus = (0.005, 0.02, 0.08)
    alpha = 0.025
    rng = np.random.default_rng(7)
    d = rng.uniform(0, 0.3, 500)
    v = rng.uniform(1e-6, 2e-3, 500)
    margin = 0.005
    fires = log_evalue_greater(d - margin, v, taus) >= math.log(1 / alpha)
    lower = d - evalue_radius(v, taus, alpha)
    clear = lower > margin
    disagree = np.flatnonzero(fires != clear)
    # Only cases within bisection precision of the boundary may differ.
    assert np.all(np.abs(lower[disagree] - margin) < 1e-9)
