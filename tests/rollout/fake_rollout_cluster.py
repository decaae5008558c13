"""A tiny world for the state machine: an ISVC, its primary copy, a route and an analysis.

It carries out the machine's actions the way the reconciler would (before-commit actions, then
the status write, then after-commit actions) and can be killed at any point of that sequence.
Time is a fake clock; the canary's analysis verdict is a function the test chooses.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from rollout.actions import (
    Action,
    ConsumeAction,
    EmitEvent,
    EnsurePrimary,
    EventType,
    HandBack,
    PromoteInRouter,
    RecordDecision,
    SetWeight,
)
from rollout.annotations import parse_strategy
from rollout.evidence import AnalysisResult, Verdict
from rollout.machine import step
from rollout.observations import ManualRequest, Observations, Workload
from rollout.revision import Revision, revision_of
from rollout.status import from_status, to_status
from rollout.transition import Transition

START = datetime(2026, 5, 1, 12, 0, 0, tzinfo=UTC)

BASE_ANNOTATIONS = {
    "kcanary.io/strategy": "canary",
    "kcanary.io/traffic": "istio",
    "kcanary.io/steps": "10,25,50",
    "kcanary.io/interval": "10s",
    "kcanary.io/step-duration": "1m",
    # The scripted verdicts judge from the first tick; the warm-up has tests of its own.
    "kcanary.io/warmup": "0s",
}


def isvc(storage_uri: str, *, fmt: str = "sklearn") -> dict[str, Any]:
    return {
        "apiVersion": "serving.kserve.io/v1beta1",
        "kind": "InferenceService",
        "metadata": {"name": "iris", "namespace": "models"},
        "spec": {"predictor": {"model": {"modelFormat": {"name": fmt}, "storageUri": storage_uri}}},
    }


def revision(storage_uri: str) -> Revision:
    return revision_of(isvc(storage_uri))


class Killed(Exception):
    """The controller died here."""


@dataclass
class FakeCluster:
    """The world one InferenceService lives in, as the reconciler would see it."""

    storage_uri: str = "s3://models/iris/v1"
    annotations: dict[str, str] = field(default_factory=lambda: dict(BASE_ANNOTATIONS))
    now: datetime = START
    canary_ready: bool = True
    rollout_complete: bool = True
    primary_revision: Revision | None = None
    primary_ready_after: timedelta = timedelta(seconds=0)
    primary_updated_at: datetime | None = None
    route_weight: int | None = None
    promoted_in_router: Revision | None = None
    router_rollout_time: timedelta = timedelta(seconds=0)
    """kserve mode: how long KServe takes to roll out a revision promoted through it."""
    promotion_asked_at: datetime | None = None
    verdict: Callable[[FakeCluster], Verdict] = lambda cluster: Verdict.PASS
    split_matches: Callable[[FakeCluster], bool] = lambda cluster: True
    """The sample-ratio check's answer: False makes it Fail beside the verdict."""
    status: dict[str, Any] = field(default_factory=dict)
    statuses: list[dict[str, Any]] = field(default_factory=list)
    """Every status written, in order."""
    action_by: str | None = "alice"
    action_at: datetime | None = None
    handed_back: bool = False
    weights: list[int] = field(default_factory=list)
    """Every weight the route was changed to, in order."""
    harm_evalue: Callable[[FakeCluster], float] = lambda cluster: 2.0
    """The harm check's e-value in each analysis: above 1, an undecided last step is extended."""
    weight_times: list[datetime] = field(default_factory=list)
    events: list[EmitEvent] = field(default_factory=list)
    decisions: list[str] = field(default_factory=list)
    consumed: list[str] = field(default_factory=list)

    # -- what the reconciler reads ---------------------------------------------------------

    @property
    def revision(self) -> Revision:
        return revision(self.storage_uri)

    def observe(self, *, analysis: bool = True) -> Observations:
        state = from_status(self.status)
        result = None
        canary = state.canary
        if analysis and canary is not None and state.rollout_started_at is not None:
            split = Verdict.PASS if self.split_matches(self) else Verdict.FAIL
            checks = (
                {"name": "sample-ratio", "verdict": split.value},
                {"name": "error-rate-harm", "evalue": self.harm_evalue(self)},
            )
            result = AnalysisResult(canary.hash, self.now, self.verdict(self), checks)
        primary = None
        if self.primary_revision is not None:
            ready = (
                self.primary_updated_at is None
                or self.now - self.primary_updated_at >= self.primary_ready_after
            )
            primary = Workload(self.primary_revision, ready)
        request = None
        if "kcanary.io/action" in self.annotations:
            request = ManualRequest(
                self.annotations["kcanary.io/action"], self.action_by, self.action_at
            )
        return Observations(
            strategy=parse_strategy(self.annotations)
            if "kcanary.io/strategy" in self.annotations
            else None,
            isvc=Workload(self.revision, self.canary_ready, self.rollout_complete),
            primary=primary,
            weight=self.route_weight,
            promotion_complete=self.promoted_in_router is not None
            and canary is not None
            and self.promoted_in_router.hash == canary.hash
            and self.promotion_asked_at is not None
            and self.now - self.promotion_asked_at >= self.router_rollout_time,
            analysis=result,
            request=request,
            generation=1,
        )

    # -- what the reconciler does ----------------------------------------------------------

    def reconcile(self, *, kill_at: int | None = None, analysis: bool = True) -> Transition:
        """One reconcile; `kill_at` counts the steps (actions and the status write) done before
        the controller dies."""
        transition = step(from_status(self.status), self.observe(analysis=analysis), self.now)
        done = 0

        def checkpoint() -> None:
            nonlocal done
            if kill_at is not None and done >= kill_at:
                raise Killed
            done += 1

        for action in transition.before_commit:
            checkpoint()
            self.carry_out(action)
        checkpoint()
        self.status = to_status(transition.state)
        self.statuses.append(self.status)
        for action in transition.after_commit:
            checkpoint()
            self.carry_out(action)
        return transition

    def carry_out(self, action: Action) -> None:
        if isinstance(action, SetWeight):
            self.set_route(action.weight)
        elif isinstance(action, EnsurePrimary):
            if self.revision.hash == action.revision.hash and (
                self.primary_revision is None or self.primary_revision.hash != action.revision.hash
            ):
                self.primary_revision = action.revision
                self.primary_updated_at = self.now
        elif isinstance(action, PromoteInRouter):
            # Serverless: canaryTrafficPercent 100; KServe rolls the canary out at once here.
            self.set_route(100)
            if self.promoted_in_router is None or self.promoted_in_router != action.revision:
                self.promotion_asked_at = self.now
            self.promoted_in_router = action.revision
        elif isinstance(action, HandBack):
            self.handed_back = True
            self.route_weight = None
            self.primary_revision = None
        elif isinstance(action, ConsumeAction):
            if self.annotations.get("kcanary.io/action") == action.action:
                del self.annotations["kcanary.io/action"]
                self.consumed.append(action.action)
        elif isinstance(action, EmitEvent):
            self.events.append(action)
        elif isinstance(action, RecordDecision):
            self.decisions.append(action.decision.value)

    def set_route(self, weight: int) -> None:
        if self.route_weight != weight:
            self.weights.append(weight)
            self.weight_times.append(self.now)
        self.route_weight = weight

    # -- what people do --------------------------------------------------------------------

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)

    def ask(self, action: str) -> None:
        self.annotations["kcanary.io/action"] = action
        self.action_at = self.now

    def deploy(self, storage_uri: str) -> None:
        self.storage_uri = storage_uri

    @property
    def phase(self) -> str:
        return str(self.status.get("phase"))

    def run(self, seconds: float, *, every: float = 10.0) -> None:
        """Reconcile every `every` seconds for `seconds` (an analysis tick each time)."""
        elapsed = 0.0
        while elapsed < seconds:
            self.reconcile()
            self.advance(every)
            elapsed += every

    def run_until(self, phase: str, *, limit: float = 3600, every: float = 10.0) -> None:
        """Reconcile (at least once) every `every` seconds until the phase is reached."""
        deadline = self.now + timedelta(seconds=limit)
        while True:
            self.reconcile()
            if self.phase == phase:
                return
            assert self.now < deadline, f"still {self.phase} ({self.status.get('message')})"
            self.advance(every)


def stable_cluster(**annotations: str) -> FakeCluster:
    """A cluster run to Stable with these `kcanary.io/` annotations."""
    cluster = FakeCluster()
    cluster.annotations.update({f"kcanary.io/{key}": value for key, value in annotations.items()})
    cluster.run_until("Stable")
    return cluster


def history(cluster: FakeCluster) -> list[dict[str, object]]:
    return list(cluster.status.get("history", []))


def warnings(cluster: FakeCluster) -> list[str]:
    return [event.message for event in cluster.events if event.type is EventType.WARNING]
