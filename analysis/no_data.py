"""What missing data means for the rollout: the per-metric no-data policy with its time limit.

Users of Flagger and Argo Rollouts asked that no data not mean rollback (flagger#1035,
argo#1905) and never mean a silent promotion: by default kcanary holds and fails only once
data has been missing for longer than the limit (5 minutes).
"""

from __future__ import annotations

from analysis.settings import NoDataPolicy, NoDataSettings
from analysis.verdict import Verdict


def no_data_verdict(settings: NoDataSettings, seconds_without_data: float) -> Verdict:
    """The overall verdict of a look without data, `seconds_without_data` after the last one
    that had data (or after the rollout started, if none had)."""
    if settings.policy is NoDataPolicy.FAIL:
        return Verdict.FAIL
    if settings.policy is NoDataPolicy.PASS:
        return Verdict.PASS
    if seconds_without_data > settings.limit_seconds:
        return Verdict.FAIL
    return Verdict.NO_DATA
