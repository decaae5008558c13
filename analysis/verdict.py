"""What a check, and the analysis as a whole, concluded at one look.

`Verdict` is what the rollout status stores (`lastAnalysis.verdict`); `Role` says which
question a check answers, because the overall verdict combines them differently: any harm or
guardrail failure rolls back, promotion needs every non-inferiority check to pass, and a
sample-ratio mismatch only holds the rollout.

Which verdicts each role gives: a harm check is Fail (evidence of harm) or Inconclusive (none
yet); a non-inferiority check Pass or Inconclusive; a guardrail Fail, Pass (the canary's upper
bound is below the limit) or Inconclusive; the sample-ratio check Fail or Pass. Every check is
NoData when its data is missing, and Inconclusive during the warm-up, before counting starts.
"""

from __future__ import annotations

import enum


class Verdict(enum.Enum):
    PASS = "Pass"
    FAIL = "Fail"
    INCONCLUSIVE = "Inconclusive"
    NO_DATA = "NoData"


class Role(enum.Enum):
    """The question a check answers, and so what its verdict does to the rollout."""

    HARM = "harm"  # Fail -> roll back
    NON_INFERIORITY = "non-inferiority"  # Pass on every one -> may promote
    GUARDRAIL = "guardrail"  # Fail -> roll back (absolute SLO limit broken)
    SAMPLE_RATIO = "sample-ratio"  # Fail -> hold and warn: the split tests cannot be trusted

    @property
    def rolls_back(self) -> bool:
        return self in (Role.HARM, Role.GUARDRAIL)


# Integer codes for the vectorised paths (the simulator judges thousands of rollouts at once).
CODE_OF: dict[Verdict, int] = {
    Verdict.INCONCLUSIVE: 0,
    Verdict.PASS: 1,
    Verdict.FAIL: 2,
    Verdict.NO_DATA: 3,
}
VERDICT_OF: dict[int, Verdict] = {code: verdict for verdict, code in CODE_OF.items()}
