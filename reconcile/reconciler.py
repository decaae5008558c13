"""The reconcile of one InferenceService: observe, step the state machine, act, commit.

One call reads as the chain rollout/__init__.py describes:

1. read the ISVC (a primary copy or an ISVC kcanary does not manage is left alone) and its
   InferenceRollout, created on first sight;
2. parse the strategy and build what it needs (router, analysis plan, a primary copy that can
   pin the model name); anything unusable becomes the InvalidSpec the machine reports;
3. observe: the workloads, the route's weight, the manual request, and an analysis run when an
   anchored tick (`rolloutStartedAt + k * interval`) has passed since the last one (during the
   warm-up, an Inconclusive look that asks Prometheus nothing);
4. `step`; carry out the before-commit actions in order; write the status if it changed; carry
   out the after-commit actions; keep the metrics current;
5. say when to wake up next (analysis tick, step end, deadline, or a poll while waiting).

The InferenceRollout is read through reconcile.status_writer, which never hands back a cached
copy older than one this controller wrote or read; a manual request whose removal the cache
has not yet seen is not taken twice either (`_answered`).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from reconcile.analysis_run import (
    AnalysisJob,
    AnalysisPlan,
    Analyst,
    analysis_due,
    revision_refs,
    warming_up,
)
from reconcile.events import EventRecorder, InvolvedObject
from reconcile.execute import ActionContext, ActionFailed, Executor
from reconcile.log_fields import about_rollout, note_state, rollout_logger
from reconcile.low_traffic import REASON, TrafficReader, warning_at_start
from reconcile.metrics import MetricsRecorder
from reconcile.observe import (
    isvc_workload,
    manual_request,
    primary_workload,
    promotion_complete,
)
from reconcile.primary_copy import is_primary_copy
from reconcile.resources import (
    ClusterStore,
    ObjectReader,
    RolloutKey,
    RolloutObjects,
    annotations_of,
    resource_version,
)
from reconcile.routing import RouteChoice, Routing
from reconcile.spec_check import check_spec
from reconcile.status_writer import InferenceRollouts
from rollout.actions import ConsumeAction, HandBack
from rollout.annotations import InvalidStrategy, is_managed
from rollout.evidence import AnalysisResult
from rollout.machine import step
from rollout.observations import ManualRequest, Observations, Workload
from rollout.schedule import next_wakeup
from rollout.state import Phase, RolloutState
from rollout.status import StatusError, from_status
from rollout.strategy import Strategy, TrafficMode
from rollout.transition import Transition
from rollout.warmup import counts_start, warming_up_at
from traffic.errors import RouteError
from traffic.router import Router
from traffic.store import Conflict, JsonObject, ObjectRef, StoreError

log = rollout_logger(__name__)

VISIBILITY_LABEL = "networking.kserve.io/visibility"
_SETTLED = (Phase.STABLE, Phase.ROLLED_BACK, Phase.ABORTED)


@dataclass(frozen=True)
class ReconcileOutcome:
    """What one reconcile did and when the object wants its next look."""

    wake_at: datetime | None = None
    error: Exception | None = None
    wrote_status: bool = False
    analysed: bool = False
    conflict: bool = False
    """The InferenceRollout changed under us: retry soon, it is not a failure."""


@dataclass(frozen=True)
class _Usable:
    """The strategy with everything built from it, or why it cannot be used."""

    strategy: Strategy | InvalidStrategy | None
    router: Router | None = None
    plan: AnalysisPlan | None = None


class Reconciler:
    """Reconciles one ISVC per call; safe to call from several workers for different keys.

    Errors the cluster or the user can cause come back in the outcome (to be retried with
    backoff); anything else is a bug and raises.
    """

    def __init__(
        self,
        *,
        store: ClusterStore,
        reader: ObjectReader,
        analyst: Analyst,
        events: EventRecorder,
        metrics: MetricsRecorder,
        clock: Callable[[], datetime],
        kserve_namespace: str = "kserve",
        poll_interval: timedelta = timedelta(seconds=5),
        traffic: TrafficReader | None = None,
    ) -> None:
        self._store = store
        self._traffic = traffic
        self._reader = reader
        self._analyst = analyst
        self._events = events
        self._metrics = metrics
        self._clock = clock
        self._poll = poll_interval
        self._routing = Routing(store, reader, kserve_namespace=kserve_namespace, clock=clock)
        self._executor = Executor(store, events, metrics)
        self._rollouts = InferenceRollouts(store, reader)
        self._answered: dict[RolloutKey, str] = {}
        """The ISVC version whose manual request was last taken or refused: a cache that still
        shows that version shows a request already dealt with (its removal not seen yet)."""
        self._removed_at: dict[RolloutKey, str] = {}
        """The ISVC version our last removal of the action annotation produced: the annotation
        in any later version was set again, so it is a new request."""
        self._checks: dict[RolloutKey, set[str]] = {}
        """Check names with series in the analysis metrics, to drop when the ISVC goes."""
        self._lock = threading.Lock()

    def reconcile(self, key: RolloutKey) -> ReconcileOutcome:
        started = time.monotonic()
        with about_rollout(*key):
            try:
                return self._reconcile(RolloutObjects.of(key))
            except Conflict as error:
                log.info("%s/%s: %s; retrying", key[0], key[1], error)
                return ReconcileOutcome(error=error, conflict=True)
            except (StoreError, RouteError, ActionFailed, StatusError) as error:
                log.warning("%s/%s: %s", key[0], key[1], error)
                self._metrics.reconcile_errors.inc()
                return ReconcileOutcome(error=error)
            finally:
                self._metrics.reconcile_duration.observe(time.monotonic() - started)

    # -- the chain -----------------------------------------------------------------------------

    def _reconcile(self, objects: RolloutObjects) -> ReconcileOutcome:
        now = self._clock()
        isvc = self._reader.get(objects.isvc)
        if isvc is None or is_primary_copy(isvc):
            if isvc is None:
                self._forget(objects)
            return ReconcileOutcome()
        try:
            return self._reconcile_isvc(objects, isvc, now)
        except (RouteError, ActionFailed) as error:
            # The user can fix these (a route to adopt, a copy in the way): say so on the ISVC.
            reason = "TrafficNotRouted" if isinstance(error, RouteError) else "ActionFailed"
            self._events.warning(_involved(isvc), reason, str(error))
            raise

    def _reconcile_isvc(
        self, objects: RolloutObjects, isvc: JsonObject, now: datetime
    ) -> ReconcileOutcome:
        managed = is_managed(annotations_of(isvc))
        rollout = self._rollouts.read(objects)
        if not managed and rollout is None:
            return ReconcileOutcome()
        usable = self._usable(isvc, managed, rollout)
        rollout = self._rollout_object(objects, isvc, rollout, usable)
        state = from_status(rollout.get("status"))
        note_state(state)
        observed, analysed = self._observe(objects, isvc, state, usable, now)
        transition = step(state, observed, now)
        note_state(transition.state)
        context = ActionContext(
            objects=objects,
            isvc=isvc,
            involved=_involved(isvc),
            router=usable.router,
            hand_back_routers=[usable.router] if usable.router is not None else [],
        )
        for action in transition.before_commit:
            self._executor.carry_out(action, context)
        handed_back = any(isinstance(action, HandBack) for action in transition.before_commit)
        written = None
        if handed_back:
            self._forget(objects)
        else:
            written = self._rollouts.write_status(objects, rollout, transition.state)
            if written is not None and not transition.before_commit and not transition.after_commit:
                self._rollouts.note_quiet_write(objects, written)
        for action in transition.after_commit:
            self._executor.carry_out(action, context)
        if written is not None and _started_analysing(state, transition.state):
            self._warn_about_low_traffic(context.involved, isvc, transition.state, usable)
        if any(isinstance(action, ConsumeAction) for action in transition.after_commit):
            version = resource_version(isvc)
            with self._lock:
                if version is not None:
                    self._answered[objects.key] = version
                if context.removed_at_version is not None:
                    self._removed_at[objects.key] = context.removed_at_version
        self._record_metrics(objects, transition, observed, handed_back)
        wake_at = None if handed_back else self._wake_at(transition.state, usable, now)
        return ReconcileOutcome(
            wake_at=wake_at, wrote_status=written is not None, analysed=analysed
        )

    def is_echo_of_quiet_write(self, key: RolloutKey, rollout: JsonObject) -> bool:
        """A watched InferenceRollout change that is only our own status write of a reconcile
        that asked for nothing else (a tick's lastAnalysis): reconciling it would find nothing
        to do, at the cost of a route read."""
        return self._rollouts.is_echo_of_quiet_write(key, resource_version(rollout))

    def is_echo_of_route_write(
        self, ref: ObjectRef, route: JsonObject, wake: Callable[[], None]
    ) -> bool:
        """A watched route change that is our own write (or a version a write of ours has just
        read from the API server) coming back: the reconcile that made it has acted on it. When
        the change overtakes our write's response, `wake` is called later if it is not ours."""
        return self._routing.routes.is_echo(ref, resource_version(route), wake)

    # -- the InferenceRollout --------------------------------------------------------------------

    def _rollout_object(
        self,
        objects: RolloutObjects,
        isvc: JsonObject,
        rollout: JsonObject | None,
        usable: _Usable,
    ) -> JsonObject:
        """The InferenceRollout, created on first sight, its mode in step with the strategy."""
        choice = RouteChoice.of(usable.strategy) if isinstance(usable.strategy, Strategy) else None
        if rollout is None:
            rollout, created = self._rollouts.create(objects, isvc, choice)
            if created and choice is not None and choice.mode is not TrafficMode.KSERVE:
                self._warn_about_public_ingress(isvc)
            return rollout
        if choice is None:
            return rollout
        return self._rollouts.remember_choice(objects, rollout, choice)

    def _forget(self, objects: RolloutObjects) -> None:
        self._rollouts.forget(objects)
        with self._lock:
            self._answered.pop(objects.key, None)
            self._removed_at.pop(objects.key, None)
            checks = self._checks.pop(objects.key, set())
        self._metrics.forget_rollout(objects.namespace, objects.name, sorted(checks))

    def _warn_about_public_ingress(self, isvc: JsonObject) -> None:
        labels = (isvc.get("metadata") or {}).get("labels") or {}
        if labels.get(VISIBILITY_LABEL) == "cluster-local":
            return
        self._events.warning(
            _involved(isvc),
            "PublicIngressCompetes",
            f"label the InferenceService {VISIBILITY_LABEL}: cluster-local, or KServe's own "
            "ingress route competes with kcanary's route for the same host",
        )

    def _warn_about_low_traffic(
        self, involved: InvolvedObject, isvc: JsonObject, state: RolloutState, usable: _Usable
    ) -> None:
        """One LowTraffic Event when the traffic before the start is too little for the plan
        (reconcile.low_traffic); only the reconcile that committed the start gets here."""
        strategy, plan, start = usable.strategy, usable.plan, state.rollout_started_at
        if self._traffic is None or not isinstance(strategy, Strategy):
            return
        if plan is None or start is None:
            return
        message = warning_at_start(self._traffic, strategy, plan, isvc, start)
        if message is not None:
            self._events.warning(involved, REASON, message)

    # -- the strategy and what it needs ----------------------------------------------------------

    def _usable(self, isvc: JsonObject, managed: bool, rollout: JsonObject | None) -> _Usable:
        if not managed:
            remembered = RouteChoice.remembered(annotations_of(rollout))
            if remembered is None:
                return _Usable(None)
            router = self._routing.router_of(remembered, isvc)
            if isinstance(router, InvalidStrategy):
                # Deleting the copy while the route still sends to it would drop traffic.
                raise ActionFailed(f"cannot hand traffic back yet: {router.message}")
            return _Usable(None, router)
        checked = check_spec(isvc)
        if isinstance(checked, InvalidStrategy):
            return _Usable(checked)
        router = self._routing.router_for(checked.strategy, isvc)
        if isinstance(router, InvalidStrategy):
            return _Usable(router)
        return _Usable(checked.strategy, router, checked.plan)

    # -- observing -------------------------------------------------------------------------------

    def _observe(
        self,
        objects: RolloutObjects,
        isvc: JsonObject,
        state: RolloutState,
        usable: _Usable,
        now: datetime,
    ) -> tuple[Observations, bool]:
        strategy = usable.strategy
        primary = None
        if isinstance(strategy, Strategy) and strategy.uses_primary_copy:
            primary = self._primary(objects)
        weight = None
        if usable.router is not None:
            found = usable.router.get_weight()
            weight = found.canary if found is not None else None
        analysis = None
        if isinstance(strategy, Strategy) and usable.plan is not None:
            analysis = self._analysis_if_due(objects, isvc, state, strategy, usable.plan, now)
        observed = Observations(
            strategy=strategy,
            isvc=isvc_workload(isvc, self._reader.get(objects.canary_deployment)),
            primary=primary,
            weight=weight,
            promotion_complete=promotion_complete(strategy, isvc, state),
            analysis=analysis,
            request=self._request(objects, isvc),
            generation=_generation(isvc),
        )
        return observed, analysis is not None

    def _request(self, objects: RolloutObjects, isvc: JsonObject) -> ManualRequest | None:
        version = resource_version(isvc)
        with self._lock:
            answered = self._answered.get(objects.key)
            if answered is not None and answered != version:
                del self._answered[objects.key]  # the cache has moved past it
            removed_at = self._removed_at.get(objects.key)
        if answered is not None and answered == version:
            return None
        request = manual_request(isvc)
        if request is not None and _later_version(version, removed_at):
            return replace(request, after_removal=True)
        return request

    def _primary(self, objects: RolloutObjects) -> Workload | None:
        primary = self._reader.get(objects.primary)
        if primary is None or not is_primary_copy(primary):
            return None
        return primary_workload(primary, self._reader.get(objects.primary_deployment))

    def _analysis_if_due(
        self,
        objects: RolloutObjects,
        isvc: JsonObject,
        state: RolloutState,
        strategy: Strategy,
        plan: AnalysisPlan,
        now: datetime,
    ) -> AnalysisResult | None:
        if not analysis_due(state, strategy, now) or state.canary is None:
            return None
        assert state.rollout_started_at is not None  # analysis_due checked it
        refs = revision_refs(strategy, isvc)
        if isinstance(refs, str):
            log.info("%s: no analysis yet: %s", objects, refs)
            return None
        stable, canary = refs
        job = AnalysisJob(
            namespace=objects.namespace,
            name=objects.name,
            plan=plan,
            canary_hash=state.canary.hash,
            stable=stable,
            canary=canary,
            since=counts_start(state.rollout_started_at, strategy),
            at=now,
            periods=state.weight_periods,
            warmup=strategy.warmup,
        )
        if warming_up_at(state.rollout_started_at, strategy, now):
            result = warming_up(job)
        else:
            started = time.monotonic()
            result = self._analyst.analyse(job)
            self._metrics.analysis_duration.observe(time.monotonic() - started)
        self._record_checks(objects, result)
        _log_analysis(objects, job, result)
        return result

    # -- metrics and wake-ups --------------------------------------------------------------------

    def _record_checks(self, objects: RolloutObjects, result: AnalysisResult) -> None:
        with self._lock:
            self._checks.setdefault(objects.key, set()).update(
                str(check.get("name", "")) for check in result.checks
            )
        for check in result.checks:
            self._metrics.record_check(
                objects.namespace,
                objects.name,
                str(check.get("name", "")),
                verdict=str(check.get("verdict", "")),
                values={
                    "stable": _number(check.get("stable")),
                    "canary": _number(check.get("canary")),
                },
                threshold=_number(check.get("threshold")),
            )

    def _record_metrics(
        self,
        objects: RolloutObjects,
        transition: Transition,
        observed: Observations,
        handed_back: bool,
    ) -> None:
        if handed_back:
            return
        state = transition.state
        self._metrics.record_phase(objects.namespace, objects.name, state.phase.value)
        weight = transition.weight_set
        if weight is None:
            weight = observed.weight
        if weight is not None:
            self._metrics.record_weight(objects.namespace, objects.name, weight)

    def _wake_at(self, state: RolloutState, usable: _Usable, now: datetime) -> datetime | None:
        strategy = usable.strategy
        if not isinstance(strategy, Strategy):
            return None
        wake = next_wakeup(state, strategy, now)
        if state.phase not in _SETTLED:  # waiting on KServe or a router: look again soon
            poll = now + self._poll
            wake = poll if wake is None else min(wake, poll)
        return wake


def _started_analysing(before: RolloutState, after: RolloutState) -> bool:
    """Whether this transition set the rollout's start (its canary became ready)."""
    return after.rollout_started_at is not None and (
        after.rollout_started_at != before.rollout_started_at
    )


def _log_analysis(objects: RolloutObjects, job: AnalysisJob, result: AnalysisResult) -> None:
    """One line per analysis tick: the verdict and each check's counts and evidence, so a
    decision can be traced tick by tick from the log alone."""
    checks = [
        {
            key: check.get(key)
            for key in ("name", "verdict", "stable", "canary", "evalue", "samples")
        }
        for check in result.checks
    ]
    weight = job.canary_weight
    summary = ", ".join(
        f"{c['name']}={c['verdict']} e={_short(c['evalue'])} n={_samples(c['samples'])}"
        for c in checks
    )
    log.info(
        "%s: analysis at %d%%: %s (%s)",
        objects,
        weight,
        result.verdict.value,
        summary or "no checks",
        extra={
            "fields": {
                "weight": weight,
                "verdict": result.verdict.value,
                "checks": checks,
            }
        },
    )


def _short(value: object) -> str:
    number = _number(value)
    return "-" if number is None else f"{number:.3g}"


def _later_version(version: str | None, than: str | None) -> bool:
    """Whether `version` is after `than`. resourceVersions are opaque to clients, but the API
    server's are etcd revisions, integers that only grow; anything else is not known to be later."""
    try:
        return version is not None and than is not None and int(version) > int(than)
    except ValueError:
        return False


def _samples(value: object) -> str:
    if isinstance(value, dict):
        return f"{value.get('stable')}/{value.get('canary')}"
    return str(value)


def _generation(isvc: JsonObject) -> int | None:
    value = (isvc.get("metadata") or {}).get("generation")
    return int(value) if value is not None else None


def _number(value: object) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _involved(isvc: JsonObject) -> InvolvedObject:
    meta = isvc.get("metadata") or {}
    return InvolvedObject(
        api_version=str(isvc.get("apiVersion") or "serving.kserve.io/v1beta1"),
        kind="InferenceService",
        namespace=str(meta.get("namespace") or ""),
        name=str(meta.get("name") or ""),
        uid=str(meta.get("uid") or ""),
    )
