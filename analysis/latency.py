"""Latency: is the canary slower than stable, anywhere in the distribution, beyond the tolerance?

The whole distribution is compared from histogram bucket counts. At every finite bucket edge
`le`, "slower than `le`" is a bad event whose probability the two revisions should share; a
median shift moves mass across the middle edges, a tail-only (p99) regression across the high
ones, a variance change across both ends. Each edge is tested with the two-proportion margin
test of `analysis.margin` (tolerance `max(absolute, relative x stable)` on the probability of
being slower than the edge, a stochastic-order margin: see `settings.Tolerance`). Source for
reading latency as exceedances at edges: Howard & Ramdas, "Sequential estimation of quantiles
with applications to A/B-testing" (Bernoulli 2022), whose time-uniform CDF bands stay valid
evaluated at a subset of points, and Lindon, Sanden & Shirikian, "Rapid regression detection in
software deployments through sequential testing" (KDD 2022), which tests stochastic order of
latency distributions for canaries.

- harm: the canary is worse than tolerated at some edge. The null is "at no edge", an
  intersection, so the edges' e-values are averaged (an average of e-values is an e-value,
  and it never needs more evidence than a Bonferroni split over the edges).
- non-inferiority: worse than tolerated at no edge. The null is "at some edge", a union, so
  every edge must show it: the smallest e-value decides (intersection-union).

The evidence reported is the edge that decided: the one with the largest harm e-value, or the
one with the smallest non-inferiority e-value.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

from analysis.check import CheckArrays, decided
from analysis.count_arrays import CountArrays, Period, common_edges
from analysis.margin import MarginTest, PeriodCounts, margin_test
from analysis.settings import AnalysisSettings
from analysis.verdict import CODE_OF, Role, Verdict


def _at(values: NDArray[np.float64], index: NDArray[np.int64]) -> NDArray[np.float64]:
    """`values[..., index]` with one edge index per rollout (values have the edge axis last)."""
    return np.asarray(
        np.take_along_axis(values, index[..., None], axis=-1)[..., 0], dtype=np.float64
    )


def _metric_names(edges: tuple[float, ...], index: NDArray[np.int64]) -> NDArray[np.str_]:
    names = np.array([f"slower_than_{edge:g}s" for edge in edges])
    return np.asarray(names[index])


def latency_checks(
    stable: CountArrays,
    canary: CountArrays,
    settings: AnalysisSettings,
    periods: Sequence[Period] | None = None,
) -> list[CheckArrays]:
    """The harm and non-inferiority checks; none when a revision has no histogram.

    `stable` and `canary` are the counts since the rollout started; `periods` the same counts
    cut where the weight changed, compared period by period (None: one period)."""
    periods = periods or [(stable, canary)]
    edges = common_edges(stable, canary)
    for period_stable, period_canary in periods:
        shared = set(common_edges(period_stable, period_canary))
        edges = tuple(edge for edge in edges if edge in shared)
    if not edges:
        return []
    tolerance = settings.latency
    harm = settings.latency_harm
    harm_alpha = settings.rollback_alpha
    # The histogram's own total is the trial count: a request counter scraped a moment apart
    # from the buckets must not turn into phantom fast or slow requests.
    test: MarginTest = margin_test(
        [
            PeriodCounts(c.slower_than(edges), c.total(), s.slower_than(edges), s.total())
            for s, c in periods
        ],
        harm=harm,
        noninferiority=tolerance,
        alpha=harm_alpha,
    )
    count = len(edges)
    log_harm = np.logaddexp.reduce(test.log_e_harm, axis=-1) - np.log(count)
    log_ni = np.min(test.log_e_noninferior, axis=-1)
    allowed = tolerance.describe()
    harm_allowed = harm.describe()
    per_edge = np.stack(
        np.broadcast_arrays(test.stable_rate, test.canary_rate, test.effect, test.lower, test.upper)
    )

    def cut(
        name: str, role: Role, index: NDArray[np.int64], log_e: NDArray[np.float64]
    ) -> CheckArrays:
        rolls_back = role.rolls_back
        alpha = harm_alpha if rolls_back else settings.alpha
        hit = CODE_OF[Verdict.FAIL] if rolls_back else CODE_OF[Verdict.PASS]
        stable_rate, canary_rate, effect, lower, upper = _at(per_edge, index[None])
        return CheckArrays(
            name=name,
            role=role,
            metric=_metric_names(edges, index),
            verdict=np.where(decided(log_e, alpha), hit, CODE_OF[Verdict.INCONCLUSIVE]),
            stable=stable_rate,
            canary=canary_rate,
            effect=effect,
            lower=lower,
            upper=upper,
            log_evalue=np.asarray(log_e, dtype=np.float64),
            alpha=alpha,
            stable_requests=np.asarray(stable.requests),
            canary_requests=np.asarray(canary.requests),
            message=(
                f"share of canary requests slower than a bucket edge above stable's by more "
                f"than {harm_allowed}"
                if rolls_back
                else f"share of canary requests slower than every bucket edge within {allowed}"
            ),
        )

    harm_edge = np.asarray(np.argmax(test.log_e_harm, axis=-1), dtype=np.int64)
    ni_edge = np.asarray(np.argmin(test.log_e_noninferior, axis=-1), dtype=np.int64)
    return [
        cut("latency-harm", Role.HARM, harm_edge, log_harm),
        cut("latency-noninferiority", Role.NON_INFERIORITY, ni_edge, log_ni),
    ]
