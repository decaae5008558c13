"""SLO guardrails: does the canary, on its own, break an absolute limit?

Two kinds of limit, both on the canary's probability of a bad event: the error rate (bad =
failed), and latency quantiles (bad = slower than the limit; the canary's q-quantile is above the
limit exactly when more than `1 - q` of its requests are slower), each quantile a guardrail of
its own. The histogram only knows its edges, so a latency limit is tested at the smallest edge at
or above it: a breach there is a breach of the limit, and a limit above the last finite edge
cannot be tested (the analysis's message says which).

The test is a one-sided beta-binomial mixture martingale (Howard, Ramdas, McAuliffe & Sekhon,
Ann. Statist. 2021, the conjugate mixture boundary; Robbins 1970): for the null `p <= limit`,

    e = int_(limit, 1) q^x (1-q)^(n-x) Beta(q; a, b) dq  /  (limit^x (1-limit)^(n-x))

Each component `q > limit` is a supermartingale under every `p <= limit`, so the mixture is
too, whatever the request rate. It fails the check only when `e >= 1/alpha`, that is, when the
lower end of the canary's anytime confidence sequence is above the limit, never on a point
estimate. The mirror image (mass on `q < limit`) passes it when the upper end is below. The
prior has its mean at twice the limit, so that breaches of the size that matter are found soon.
"""

from __future__ import annotations

import bisect
import math

import numpy as np
from numpy.typing import NDArray
from scipy.special import betainc, betaincc, betaln, xlog1py, xlogy

from analysis.check import CheckArrays, decided
from analysis.count_arrays import CountArrays
from analysis.settings import AnalysisSettings
from analysis.verdict import CODE_OF, Role, Verdict

FloatArray = NDArray[np.float64]
_BISECTIONS = 40


def _prior(limit: float) -> tuple[float, float]:
    mean = min(2.0 * limit, 0.5)
    return 1.0, (1.0 - mean) / mean


def _log_e(
    bad: FloatArray, n: FloatArray, p: FloatArray, prior: tuple[float, float], above: bool
) -> FloatArray:
    """log of the mixture over `q > p` (or `q < p`) against the point `p`."""
    a, b = prior
    a1 = a + bad
    b1 = b + n - bad
    with np.errstate(divide="ignore"):
        tail = betaincc(a1, b1, p) if above else betainc(a1, b1, p)
        # xlogy: 0 * log(0) is 0 here (no bad events at p = 0, all bad at p = 1), not nan.
        log_null = xlogy(bad, p) + xlog1py(n - bad, -p)
        logs = betaln(a1, b1) - betaln(a, b) + np.log(tail) - log_null
    return np.asarray(logs, dtype=np.float64)


def log_evalue_above(bad: FloatArray, n: FloatArray, limit: float) -> FloatArray:
    """log e-value against `p <= limit` from `bad` events in `n` trials."""
    x = np.asarray(bad, np.float64)
    return _log_e(x, np.asarray(n, np.float64), np.full(x.shape, limit), _prior(limit), True)


def log_evalue_below(bad: FloatArray, n: FloatArray, limit: float) -> FloatArray:
    """log e-value against `p >= limit`."""
    x = np.asarray(bad, np.float64)
    return _log_e(x, np.asarray(n, np.float64), np.full(x.shape, limit), _prior(limit), False)


def confidence_bounds(
    bad: FloatArray, n: FloatArray, limit: float, alpha: float
) -> tuple[FloatArray, FloatArray]:
    """The rate's anytime interval: all `p` that neither one-sided test rejects at `alpha`.

    Found by bisection on `p` (each one-sided e-value is monotone on its side of the estimate)
    with the prior fixed by `limit`, never by the data; 40 halvings give about 1e-12.
    """
    x = np.asarray(bad, np.float64)
    trials = np.asarray(n, np.float64)
    prior = _prior(limit)
    threshold = math.log(1.0 / alpha)
    estimate = np.clip(x / np.maximum(trials, 1.0), 1e-12, 1 - 1e-12)

    lower_lo, lower_hi = np.zeros_like(estimate), estimate
    upper_lo, upper_hi = estimate, np.ones_like(estimate)
    for _ in range(_BISECTIONS):
        mid = 0.5 * (lower_lo + lower_hi)
        rejected = _log_e(x, trials, mid, prior, True) >= threshold  # mid is too small
        lower_lo = np.where(rejected, mid, lower_lo)
        lower_hi = np.where(rejected, lower_hi, mid)
        mid = 0.5 * (upper_lo + upper_hi)
        rejected = _log_e(x, trials, mid, prior, False) >= threshold  # mid is too large
        upper_lo = np.where(rejected, upper_lo, mid)
        upper_hi = np.where(rejected, mid, upper_hi)
    lower = np.asarray(0.5 * (lower_lo + lower_hi), dtype=np.float64)
    upper = np.asarray(0.5 * (upper_lo + upper_hi), dtype=np.float64)
    return lower, upper


def _guardrail(
    name: str,
    metric: str,
    bad: NDArray[np.int64],
    canary: CountArrays,
    stable: CountArrays,
    limit: float,
    alpha: float,
    message: str,
) -> CheckArrays:
    n = np.asarray(canary.requests, np.float64)
    x = np.asarray(bad, np.float64)
    log_above = log_evalue_above(x, n, limit)
    log_below = log_evalue_below(x, n, limit)
    lower, upper = confidence_bounds(x, n, limit, alpha)
    verdict = np.where(
        decided(log_above, alpha),
        CODE_OF[Verdict.FAIL],
        np.where(decided(log_below, alpha), CODE_OF[Verdict.PASS], CODE_OF[Verdict.INCONCLUSIVE]),
    )
    no_requests = n <= 0
    rate = x / np.maximum(n, 1.0)
    stable_rate = np.full(np.shape(rate), np.nan)
    return CheckArrays(
        name=name,
        role=Role.GUARDRAIL,
        metric=np.full(np.shape(rate), metric),
        verdict=np.where(no_requests, CODE_OF[Verdict.INCONCLUSIVE], verdict),
        stable=stable_rate,
        canary=rate,
        effect=rate - limit,
        lower=lower - limit,
        upper=upper - limit,
        log_evalue=np.where(no_requests, 0.0, log_above),
        alpha=alpha,
        stable_requests=np.asarray(stable.requests),
        canary_requests=np.asarray(canary.requests),
        message=message,
    )


def slo_checks(
    stable: CountArrays, canary: CountArrays, settings: AnalysisSettings
) -> list[CheckArrays]:
    """The configured guardrails (none by default)."""
    checks: list[CheckArrays] = []
    slo = settings.slo
    alpha = settings.rollback_alpha
    if slo.max_error_rate is not None and canary.failures is not None:
        checks.append(
            _guardrail(
                "error-rate-slo",
                "error_rate",
                canary.failures,
                canary,
                stable,
                slo.max_error_rate,
                alpha,
                f"canary error rate above the SLO limit {slo.max_error_rate:.3g}",
            )
        )
    if canary.upper_bounds is None:
        return checks
    finite = [edge for edge in canary.upper_bounds if math.isfinite(edge)]
    for name, limit in zip(slo.latency_check_names(), slo.latency, strict=True):
        at = bisect.bisect_left(finite, limit.max_seconds * (1 - 1e-9))
        if at == len(finite):
            continue  # untestable on this histogram: `untestable_latency_limits` says so
        edge = finite[at]
        checks.append(
            _guardrail(
                name,
                f"slower_than_{edge:g}s",
                canary.slower_than((edge,))[..., 0],
                canary,
                stable,
                1.0 - limit.quantile,
                alpha,
                f"canary {limit.label} above {limit.max_seconds:g}s "
                f"(tested at the bucket edge {edge:g}s)",
            )
        )
    return checks


def untestable_latency_limits(settings: AnalysisSettings, canary: CountArrays) -> list[str]:
    """Why each latency guardrail that cannot run on this histogram cannot (none: all can)."""
    slo = settings.slo
    if canary.upper_bounds is None:
        return []
    finite = [edge for edge in canary.upper_bounds if math.isfinite(edge)]
    return [
        f"latency SLO {limit.label} <= {limit.max_seconds:g}s ({name}) is above the histogram's "
        "last finite bucket edge; lower the limit or add buckets"
        for name, limit in zip(slo.latency_check_names(), slo.latency, strict=True)
        if not finite or limit.max_seconds > finite[-1] * (1 + 1e-9)
    ]
