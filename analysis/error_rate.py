"""Error rate: is the canary's failure rate worse than stable's by more than the tolerance?

Two checks on the cumulative failures and requests of both revisions since the rollout started:
harm (evidence that it is worse than stable by more than the harm margin, 0 by default -> roll
back) and non-inferiority (evidence that it is worse by at most the tolerance, `max(0.5 pp,
20%)` by default -> may promote). The test is the two-proportion margin
test of `analysis.margin`: normal-mixture e-values (Johari et al., KDD 2017; Howard et al.,
Ann. Statist. 2021) on a contrast whose baseline is integrated out with its Haar measure
(Perez-Ortiz et al., Ann. Statist. 2024), so it conditions on each revision's request count and
stays valid while the canary's weight steps up. It needs only the current cumulative counts: a
restarted controller recomputes the same e-value from Prometheus.

Why not a conditional binomial on the canary's share of failures (Lindon & Malek, NeurIPS
2022)? It removes stable's rate exactly for a relative tolerance, but DESIGN.md's tolerance has
an absolute floor (0.5 pp), whose null depends on stable's unknown rate: the conditional test
would need a confidence bound on that rate, spending part of alpha on it and testing against
its worst case. Here stable's rate is integrated out and the margin's `max` handled as
`analysis.margin` explains.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

from analysis.check import CheckArrays, decided
from analysis.count_arrays import CountArrays, Period
from analysis.margin import PeriodCounts, margin_test
from analysis.settings import AnalysisSettings
from analysis.verdict import CODE_OF, Role, Verdict

FloatArray = NDArray[np.float64]


def error_rate_checks(
    stable: CountArrays,
    canary: CountArrays,
    settings: AnalysisSettings,
    periods: Sequence[Period] | None = None,
) -> list[CheckArrays]:
    """The harm and non-inferiority checks; none when a revision has no failure counts.

    `stable` and `canary` are the counts since the rollout started; `periods` the same counts
    cut where the weight changed, compared period by period (None: one period)."""
    counts = []
    for period_stable, period_canary in periods or [(stable, canary)]:
        if period_stable.failures is None or period_canary.failures is None:
            return []
        counts.append(
            PeriodCounts(
                period_canary.failures,
                period_canary.requests,
                period_stable.failures,
                period_stable.requests,
            )
        )
    tolerance = settings.error_rate
    harm = settings.error_rate_harm
    harm_alpha = settings.rollback_alpha
    test = margin_test(
        counts,
        harm=harm,
        noninferiority=tolerance,
        alpha=harm_alpha,
    )
    allowed = tolerance.describe()
    harm_allowed = harm.describe()

    def check(name: str, role: Role, log_e: FloatArray, alpha: float, message: str) -> CheckArrays:
        hit = CODE_OF[Verdict.FAIL] if role.rolls_back else CODE_OF[Verdict.PASS]
        return CheckArrays(
            name=name,
            role=role,
            metric=np.full(np.shape(test.effect), "error_rate"),
            verdict=np.where(decided(log_e, alpha), hit, CODE_OF[Verdict.INCONCLUSIVE]),
            stable=test.stable_rate,
            canary=test.canary_rate,
            effect=test.effect,
            lower=test.lower,
            upper=test.upper,
            log_evalue=log_e,
            alpha=alpha,
            stable_requests=np.asarray(stable.requests),
            canary_requests=np.asarray(canary.requests),
            message=message,
        )

    return [
        check(
            "error-rate-harm",
            Role.HARM,
            test.log_e_harm,
            harm_alpha,
            f"canary failure rate above stable's by more than {harm_allowed}",
        ),
        check(
            "error-rate-noninferiority",
            Role.NON_INFERIORITY,
            test.log_e_noninferior,
            settings.alpha,
            f"canary failure rate within {allowed} of stable's",
        ),
    ]
