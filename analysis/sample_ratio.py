"""Sample-ratio mismatch: is the canary getting the share of requests its weight asks for?

If the router splits traffic differently from the configured weight (a stale route, a sticky
session, a proxy retrying onto one side), the two revisions no longer see the same population
and the comparison tests cannot be trusted; the rollout holds and says so.

Source: Lindon & Malek, "Anytime-valid inference for multinomial count data" (NeurIPS 2022),
whose test of a multinomial's probabilities mixes the likelihood over alternatives and covers
Poisson counting processes, so only the running counts are needed. The expected share changes
at every step, so the requests are taken per period of constant weight (the controller knows the
cumulative request counts at each step boundary): in period k, given its n_k requests, the
canary's count is Binomial(n_k, w_k) under the null (Poisson arrivals split at random; a
deterministic round-robin split is less dispersed, which only makes the test conservative).
The alternative shifts the log-odds of each period's share by `phi` beyond a small tolerated
shift, and the likelihood ratio is mixed over a fixed grid of `phi` in both directions. Two
such mixtures are averaged: one with the same `phi` in every period (a router that is off by
the same amount throughout gathers evidence across steps), and the product of one mixture per
period (a mismatch that changes direction from step to step, which the common shift would
average away). Each is a test martingale under the null at every look (periods follow one
another, so the product of per-period martingales is one too), and so is their average.

The controller must cut periods where the weight changed (after the router confirmed it):
requests of a period served at another weight look like a mismatch.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray

from analysis import normal_mixture
from analysis.check import CheckArrays, decided
from analysis.verdict import CODE_OF, Role, Verdict

FloatArray = NDArray[np.float64]
Counts = NDArray[np.float64] | NDArray[np.int64]

# A realised share within this log-odds shift of the weight is tolerated (about +-5% of the
# share at small weights: 10% is matched by 9.5% to 10.5%), so that a few requests counted on
# the wrong side of a weight change, or a router's rounding, do not hold a rollout forever.
TOLERATED_SHIFT = 0.05
# log-odds shifts beyond the tolerated one that the alternative mixes over, up to a factor ~7.
_BEYOND = np.array([0.01, 0.03, 0.1, 0.3, 1.0, 2.0])
_PHI = np.concatenate([-(TOLERATED_SHIFT + _BEYOND[::-1]), TOLERATED_SHIFT + _BEYOND])
_NULL = np.sign(_PHI) * TOLERATED_SHIFT  # each alternative is held against the nearest null
_CERTAIN = 700.0  # log e-value when a period with weight 0 or 100 saw the other side served


def log_evalue(weights: FloatArray, stable_requests: Counts, canary_requests: Counts) -> FloatArray:
    """log e-value against "the canary's share in each period is its weight" (up to the
    tolerated shift).

    `weights` are canary fractions in [0, 1] per period (last axis); the request arrays hold
    the requests each revision served in each period, with the same last axis. Each
    alternative `phi > shift` is compared with the null point `+shift` (and `phi < -shift`
    with `-shift`): by monotone likelihood ratio that ratio is a supermartingale under every
    share inside the tolerated band.
    """
    w = np.asarray(weights, np.float64)
    ns = np.asarray(stable_requests, np.float64)[..., None]
    nc = np.asarray(canary_requests, np.float64)[..., None]
    interior = (w > 0) & (w < 1)
    impossible = ((w <= 0) & (nc[..., 0] > 0)) | ((w >= 1) & (ns[..., 0] > 0))
    safe_w = np.clip(w, 1e-9, 1 - 1e-9)
    base = np.log(safe_w / (1 - safe_w))[..., None]  # (..., S, 1)
    alternative = base + _PHI
    null = base + _NULL
    # log rho = -log(1 + e^-x) and log(1 - rho) = -log(1 + e^x) for rho = sigmoid(x)
    per_period = nc * (np.logaddexp(0.0, -null) - np.logaddexp(0.0, -alternative)) + ns * (
        np.logaddexp(0.0, null) - np.logaddexp(0.0, alternative)
    )
    per_period = np.where(interior[..., None], per_period, 0.0)
    log_size = math.log(len(_PHI))
    common = np.logaddexp.reduce(per_period.sum(axis=-2), axis=-1) - log_size
    separate = (np.logaddexp.reduce(per_period, axis=-1) - log_size).sum(axis=-1)
    mixed = np.logaddexp(common, separate) - math.log(2.0)
    return np.asarray(np.where(impossible.any(axis=-1), _CERTAIN, mixed), dtype=np.float64)


def sample_ratio_check(
    weights: FloatArray,
    stable_requests: Counts,
    canary_requests: Counts,
    alpha: float,
) -> CheckArrays:
    """Fail (hold) when the realised split is shown not to match the weights."""
    ns = np.asarray(stable_requests, np.float64)
    nc = np.asarray(canary_requests, np.float64)
    w = np.asarray(weights, np.float64)
    total = np.sum(ns + nc, axis=-1)
    expected = np.sum(w * (ns + nc), axis=-1) / np.maximum(total, 1.0)
    realised = np.sum(nc, axis=-1) / np.maximum(total, 1.0)
    log_e = log_evalue(w, ns, nc)
    variance = np.clip(expected * (1 - expected), 0.25 / np.maximum(total, 1.0), None)
    half_width = normal_mixture.radius(variance / np.maximum(total, 1.0), 0.01, alpha)
    effect = realised - expected
    return CheckArrays(
        name="sample-ratio",
        role=Role.SAMPLE_RATIO,
        metric=np.full(np.shape(total), "canary_share"),
        verdict=np.where(decided(log_e, alpha), CODE_OF[Verdict.FAIL], CODE_OF[Verdict.PASS]),
        stable=expected,  # the canary's expected share, from the weights
        canary=realised,  # the canary's realised share
        effect=effect,
        lower=effect - half_width,
        upper=effect + half_width,
        log_evalue=log_e,
        alpha=alpha,
        stable_requests=np.asarray(np.sum(ns, axis=-1), dtype=np.int64),
        canary_requests=np.asarray(np.sum(nc, axis=-1), dtype=np.int64),
        message="canary's share of requests differs from its configured weight",
    )
