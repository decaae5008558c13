"""Every metric the controller exports, in one place (names fixed in DESIGN.md section 8).

The recorder owns its registry, so two controllers in one process (tests) do not collide. It
knows the phase set, so `kcanary_rollout_phase` is 1 for the current phase and 0 for the others
rather than leaving stale series behind. `kcanary_build_info` (always 1) names the version that
exports the rest, as Prometheus' own `prometheus_build_info` does.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Mapping

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from reconcile.build_info import kcanary_version, python_version

PHASES: tuple[str, ...] = (
    "Initializing",
    "Stable",
    "Progressing",
    "Paused",
    "Promoting",
    "RollingBack",
    "RolledBack",
    "Aborted",
)
VERDICTS: tuple[str, ...] = ("Pass", "Fail", "Inconclusive", "NoData")
DECISIONS: tuple[str, ...] = ("promoted", "rolled_back", "aborted")

# Reconciles are mostly a few API calls; analysis is a few Prometheus queries.
_RECONCILE_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
_ANALYSIS_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)


class MetricsRecorder:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        r = self.registry
        self.build_info = Gauge(
            "kcanary_build_info",
            "Always 1; the labels say which kcanary, on which Python, exports these metrics.",
            ["version", "python"],
            registry=r,
        )
        self.build_info.labels(kcanary_version(), python_version()).set(1)
        self.rollout_phase = Gauge(
            "kcanary_rollout_phase",
            "1 for the rollout's current phase, 0 for the others.",
            ["namespace", "name", "phase"],
            registry=r,
        )
        self.canary_weight = Gauge(
            "kcanary_canary_weight",
            "Percent of traffic sent to the canary revision.",
            ["namespace", "name"],
            registry=r,
        )
        self.analysis_verdict = Gauge(
            "kcanary_analysis_verdict",
            "1 for each check's latest verdict, 0 for its other verdicts.",
            ["namespace", "name", "check", "verdict"],
            registry=r,
        )
        self.analysis_value = Gauge(
            "kcanary_analysis_value",
            "Latest estimate of each check's metric per revision (stable, canary).",
            ["namespace", "name", "check", "revision"],
            registry=r,
        )
        self.analysis_threshold = Gauge(
            "kcanary_analysis_threshold",
            "The limit each check's canary value is held to.",
            ["namespace", "name", "check"],
            registry=r,
        )
        self.decisions = Counter(
            "kcanary_decisions",
            "Rollouts ended, by decision.",
            ["namespace", "name", "decision"],
            registry=r,
        )
        self.analysis_duration = Histogram(
            "kcanary_analysis_duration_seconds",
            "Time to query Prometheus and evaluate one analysis tick.",
            buckets=_ANALYSIS_BUCKETS,
            registry=r,
        )
        self.reconcile_duration = Histogram(
            "kcanary_reconcile_duration_seconds",
            "Time to reconcile one InferenceService.",
            buckets=_RECONCILE_BUCKETS,
            registry=r,
        )
        self.reconcile_errors = Counter(
            "kcanary_reconcile_errors",
            "Reconciles that ended in an error and were retried with backoff.",
            registry=r,
        )
        self.prometheus_query_errors = Counter(
            "kcanary_prometheus_query_errors",
            "Prometheus queries that failed or returned nothing, by reason.",
            ["reason"],
            registry=r,
        )

    def record_phase(self, namespace: str, name: str, phase: str) -> None:
        for candidate in PHASES:
            self.rollout_phase.labels(namespace, name, candidate).set(
                1.0 if candidate == phase else 0.0
            )

    def record_weight(self, namespace: str, name: str, percent: int) -> None:
        self.canary_weight.labels(namespace, name).set(percent)

    def record_check(
        self,
        namespace: str,
        name: str,
        check: str,
        *,
        verdict: str,
        values: Mapping[str, float | None],
        threshold: float | None,
    ) -> None:
        for candidate in VERDICTS:
            self.analysis_verdict.labels(namespace, name, check, candidate).set(
                1.0 if candidate == verdict else 0.0
            )
        for revision, value in values.items():
            if value is not None:
                self.analysis_value.labels(namespace, name, check, revision).set(value)
        if threshold is not None:
            self.analysis_threshold.labels(namespace, name, check).set(threshold)

    def record_decision(self, namespace: str, name: str, decision: str) -> None:
        if decision not in DECISIONS:
            raise ValueError(f"unknown decision {decision!r}; expected one of {DECISIONS}")
        self.decisions.labels(namespace, name, decision).inc()

    def forget_rollout(self, namespace: str, name: str, checks: Iterable[str] = ()) -> None:
        """Drop the series of a rollout whose ISVC is gone, so dashboards do not show ghosts."""
        for phase in PHASES:
            _remove(self.rollout_phase, namespace, name, phase)
        _remove(self.canary_weight, namespace, name)
        for check in checks:
            for verdict in VERDICTS:
                _remove(self.analysis_verdict, namespace, name, check, verdict)
            for revision in ("stable", "canary"):
                _remove(self.analysis_value, namespace, name, check, revision)
            _remove(self.analysis_threshold, namespace, name, check)


def _remove(metric: Gauge, *labels: str) -> None:
    with contextlib.suppress(KeyError):
        metric.remove(*labels)
