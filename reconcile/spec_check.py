"""What can be told about an InferenceService's kcanary annotations without a cluster.

The strategy's annotations, the predictor the `<name>-primary` copy must pin, and the analysis
built from the strategy (metric templates, tolerances): the reconciler checks these first, and
`kcanary lint` checks a file the same way, so both give the same InvalidSpec message. What needs
the cluster (the route a mode adopts) is checked by the reconciler only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from reconcile.analysis_run import AnalysisPlan, analysis_plan
from reconcile.primary_copy import CannotPin, pin_method
from reconcile.routing import MODE_ANNOTATION
from rollout.annotations import InvalidStrategy, parse_strategy
from rollout.strategy import Strategy


@dataclass(frozen=True)
class CheckedSpec:
    """A usable strategy and the analysis built from it."""

    strategy: Strategy
    plan: AnalysisPlan


def check_spec(isvc: dict[str, Any]) -> CheckedSpec | InvalidStrategy:
    """The strategy and analysis plan of `isvc`, or the first reason they cannot be used."""
    annotations = dict((isvc.get("metadata") or {}).get("annotations") or {})
    strategy = parse_strategy(annotations)
    if isinstance(strategy, InvalidStrategy):
        return strategy
    if strategy.uses_primary_copy:
        pin = pin_method(dict((isvc.get("spec") or {}).get("predictor") or {}))
        if isinstance(pin, CannotPin):
            return InvalidStrategy(MODE_ANNOTATION, pin.message)
    plan = analysis_plan(strategy)
    if isinstance(plan, InvalidStrategy):
        return plan
    return CheckedSpec(strategy, plan)
