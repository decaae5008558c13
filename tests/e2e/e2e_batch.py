"""The concurrent batch: every scenario's rollout runs side by side on the session controller.

Each scenario is an ISVC in a namespace of its own, applied with the stable model, loaded through
the gateway once Stable, then given its canary model as a user's CI would. A thread per scenario
waits for the decision and then measures where the gateway sends traffic afterwards; tests read
the outcome of their own scenario (`Batch.outcome`).
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Mapping
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import Any

from e2e_rollouts import (
    COLD_URI,
    ERROR_URI,
    GOOD_URI,
    SLOW_URI,
    TRIPLED_ERRORS_URI,
    RolloutRecord,
    Rollouts,
    TrafficLog,
    annotated_isvc,
    gateway_weights,
    public_host,
    set_load,
    step_windows,
)
from polling import wait_until

from sim.cluster import LocalCluster

GOOD_RPS = 10.0  # enough for a binomial check of every step's split
REGRESSION_RPS = 25.0  # enough canary requests at 10% for a quick, sure decision
AFTER_WINDOW_S = 3.0
BATCH_TIMEOUT_S = 600.0  # the waves of the demo plan run one after the other
STATUS_POLL_S = 0.5
"""Between two reads of a scenario's status: every scenario polls at once, on the API server
that shares a process with the model servers, so a short interval takes the CPU that carries
the load. Decisions are timed from the watched routes, not from these reads."""
GOOD_STEP_DURATION = "8s"
INVALID_NAME = "broken"


@dataclass(frozen=True)
class Plan:
    """How a scenario's rollout is paced: the ISVC's timing annotations and its load."""

    rps: float
    step_duration: str
    interval: str = "1s"
    extend_inconclusive: str | None = None
    """None: kcanary's default."""


DEMO_PLAN = Plan(rps=100.0, step_duration="15s", interval="2s")
"""The demo's load and steps (`kcanary demo`), with kcanary's default extension of an undecided
last step (3m, only while the evidence leans towards harm): with a 30 s extension a tripled error
rate was promoted in one of 13 runs on a busy machine (e-value 18.6 of 40 when it ran out)."""
DEMO_WARMUP = "2s"  # the local cluster's servers start warm: a short warm-up as a user would set


@dataclass(frozen=True)
class Scenario:
    key: str
    router: str
    canary_uri: str
    expected_phase: str  # Stable (promoted) or RolledBack
    warmup: str = "0s"
    load_rps: float | None = None
    """The load, when not the one that follows from the expected phase (or the plan)."""
    plan: Plan | None = None
    """The load and steps, when not the ones that follow from the expected phase."""
    after: tuple[str, ...] = ()
    """Scenarios (earlier in the batch) that must have ended before this canary gets its load."""

    @property
    def rps(self) -> float:
        if self.load_rps is not None:
            return self.load_rps
        if self.plan is not None:
            return self.plan.rps
        return GOOD_RPS if self.expected_phase == "Stable" else REGRESSION_RPS

    @property
    def step_duration(self) -> str:
        if self.plan is not None:
            return self.plan.step_duration
        # A regression is rolled back within the first steps, so long steps cost nothing and
        # leave the analysis time to gather its evidence on a busy machine.
        return GOOD_STEP_DURATION if self.expected_phase == "Stable" else "20s"

    @property
    def interval(self) -> str:
        return "1s" if self.plan is None else self.plan.interval

    @property
    def annotations(self) -> dict[str, str]:
        """Annotations beyond the ones every scenario sets."""
        if self.plan is None or self.plan.extend_inconclusive is None:
            return {}
        return {"kcanary.io/extend-inconclusive": self.plan.extend_inconclusive}


ROUTERS = ("istio", "gateway-api", "kserve")
COLD_WARMUP = "10s"  # covers the canary server's 6 s cold start, which begins before traffic
BASE_SCENARIOS = (
    # Every router: a good canary promoted, an error and a latency regression rolled back.
    *(
        Scenario(f"{router}-{kind}", router, uri, phase)
        for router in ROUTERS
        for kind, uri, phase in (
            ("good", GOOD_URI, "Stable"),
            ("errors", ERROR_URI, "RolledBack"),
            ("slow", SLOW_URI, "RolledBack"),
        )
    ),
    # The same cold-starting canary under the same load: promoted when the strategy's warm-up
    # covers the cold start, rolled back on latency without one.
    Scenario("istio-cold-warmup", "istio", COLD_URI, "Stable", COLD_WARMUP, REGRESSION_RPS),
    Scenario("istio-cold-no-warmup", "istio", COLD_URI, "RolledBack", "0s", REGRESSION_RPS),
)


def demo_plan_waves() -> tuple[Scenario, ...]:
    """At the demo's load and steps, with kcanary's default analysis: a canary failing 3% of
    requests where stable fails 1% is rolled back, and a good one beside it promoted.

    One router at a time, after the rest of the batch: the local cluster's servers share one
    Python process, and past a few hundred requests per second in all it answers a fraction of
    what is offered, so the canaries would not see the load the plan is about."""
    waves: list[Scenario] = []
    before = tuple(scenario.key for scenario in BASE_SCENARIOS)
    for router in ROUTERS:
        wave = [
            Scenario(
                f"{router}-{kind}-demo-plan",
                router,
                uri,
                phase,
                DEMO_WARMUP,
                plan=DEMO_PLAN,
                after=before,
            )
            for kind, uri, phase in (
                ("good", GOOD_URI, "Stable"),
                ("tripled-errors", TRIPLED_ERRORS_URI, "RolledBack"),
            )
        ]
        waves += wave
        before = tuple(scenario.key for scenario in wave)
    return tuple(waves)


SCENARIOS = (*BASE_SCENARIOS, *demo_plan_waves())


@dataclass(frozen=True)
class Outcome:
    scenario: Scenario
    namespace: str
    name: str
    status: Mapping[str, Any]
    record: RolloutRecord
    windows: list[tuple[int, Counter[str]]]
    """(weight, requests per workload) for every weight the route held during the rollout."""
    after: Counter[str]
    """Requests the gateway sent to each workload in a window after the decision."""
    record_after: RolloutRecord
    """The route's weights and the phases as they were at the end of that window."""
    stable_during: str
    """The workload serving the stable revision during the rollout (the rest is the canary)."""
    stable_after: str
    """The workload serving the stable revision after the decision."""


def stable_workload(router: str, name: str, *, promoted: bool) -> str:
    """The workload of the stable revision, as the gateway's metrics label it.

    With a primary copy that is always the copy's Deployment. In the kserve mode it is the
    Knative revision's Deployment: the batch's ISVCs have two revisions, `-00001` (the first
    model) and `-00002` (the canary), and the canary's is stable once promoted.
    """
    if router == "kserve":
        return f"{name}-predictor-0000{2 if promoted else 1}-deployment"
    return f"{name}-primary-predictor"


class Batch:
    """Runs the scenarios on threads from `start()`; `outcome(key)` waits for one of them."""

    def __init__(
        self, cluster: LocalCluster, rollouts: Rollouts, log: TrafficLog, namespaces: list[str]
    ) -> None:
        self._cluster = cluster
        self._rollouts = rollouts
        self._log = log
        self.namespaces = dict(zip((s.key for s in SCENARIOS), namespaces, strict=True))
        self._pool = ThreadPoolExecutor(max_workers=len(SCENARIOS), thread_name_prefix="e2e")
        self._futures: dict[str, Future[Outcome]] = {}

    def start(self) -> None:
        # An ISVC whose strategy cannot be used, beside one that rolls out normally.
        self._rollouts.create(
            annotated_isvc(
                INVALID_NAME,
                self.namespaces["istio-good"],
                router="istio",
                steps="10,abc,50",
            )
        )
        for scenario in SCENARIOS:
            self._futures[scenario.key] = self._pool.submit(self._run, scenario)

    def outcome(self, key: str, timeout_s: float = BATCH_TIMEOUT_S) -> Outcome:
        return self._futures[key].result(timeout=timeout_s)

    def wait_all(self, timeout_s: float = BATCH_TIMEOUT_S) -> None:
        """Wait for every scenario to end, whatever its outcome (errors stay with the test)."""
        deadline = time.monotonic() + timeout_s
        for future in self._futures.values():
            try:
                future.result(timeout=max(0.0, deadline - time.monotonic()))
            except Exception:  # reported by the scenario's own test
                continue

    def stop(self) -> None:
        for scenario in SCENARIOS:
            set_load(self._cluster, self.namespaces[scenario.key], "iris", 0)
        self._pool.shutdown(wait=False, cancel_futures=True)

    def _run(self, scenario: Scenario) -> Outcome:
        namespace, name = self.namespaces[scenario.key], "iris"
        self._rollouts.create(
            annotated_isvc(
                name,
                namespace,
                router=scenario.router,
                step_duration=scenario.step_duration,
                interval=scenario.interval,
                warmup=scenario.warmup,
                extra_annotations=scenario.annotations,
            )
        )
        self._rollouts.wait_phase(namespace, name, "Stable", timeout_s=90, interval_s=STATUS_POLL_S)
        # Each predecessor ends with its load stopped, whatever its outcome.
        wait([self._futures[key] for key in scenario.after], timeout=BATCH_TIMEOUT_S)
        set_load(self._cluster, namespace, name, scenario.rps)
        self._rollouts.change_model(namespace, name, scenario.canary_uri)
        status = self._rollouts.wait_decision(
            namespace, name, scenario.canary_uri, timeout_s=150, interval_s=STATUS_POLL_S
        )
        # The decision's last route write may reach the log just after the status write.
        wait_until(
            lambda: self._last_weight(namespace, name) == 0,
            20,
            lambda: f"{namespace}/{name}'s route back to 0 ({self._log.record(namespace, name)})",
        )
        record = self._log.record(namespace, name)
        windows = step_windows(record, self._cluster, namespace)
        # Once the gateway applies the final route, count who serves over the next seconds
        # (a measurement window, not a wait for something).
        host = public_host(self._cluster, namespace, name)
        wait_until(
            lambda: (
                gateway_weights(self._cluster, host).get(f"{name}-predictor", 0) == 0
                or scenario.router == "kserve"
            ),
            20,
            lambda: (
                f"the gateway to apply {namespace}/{name}'s final route "
                f"({gateway_weights(self._cluster, host)})"
            ),
        )
        # Counted as the gateway sends them, so a request still on its way to the canary when
        # the route changed counts for the route before (Istio's metrics count at completion).
        assert self._cluster.gateway is not None
        gateway = self._cluster.gateway
        before = gateway.sent_by_workload(namespace)
        threading.Event().wait(AFTER_WINDOW_S)
        after = gateway.sent_by_workload(namespace) - before
        record_after = self._log.record(namespace, name)
        set_load(self._cluster, namespace, name, 0)
        return Outcome(
            scenario,
            namespace,
            name,
            status,
            record,
            windows,
            after,
            record_after,
            stable_during=stable_workload(scenario.router, name, promoted=False),
            stable_after=stable_workload(
                scenario.router, name, promoted=status.get("phase") == "Stable"
            ),
        )

    def _last_weight(self, namespace: str, name: str) -> int | None:
        weights = self._log.record(namespace, name).weights
        return weights[-1].weight if weights else None
