"""The kserve router: let KServe split the traffic, by writing the ISVC's own canary fields.

Serverless (Knative) mode: kcanary writes ``spec.predictor.canaryTrafficPercent`` and KServe
and Knative split between the latest revision and the last rolled-out one. Stable is
``status.components.predictor.latestRolledoutRevision``, canary ``latestCreatedRevision``.
Without the field KServe sends everything to a new revision once it is ready, so kcanary keeps it
at 0 while nothing rolls out (:meth:`KServeRouter.ensure`): the next revision starts guarded.
Promotion sets 100, waits until ``latestRolledoutRevision`` is the canary, then sets 0 again;
rollback sets 0; hand back removes the field.

Standard mode on KServe >= 0.20: the user's CI adds an entry to ``spec.canary[]``
(``{trafficPercent, predictor: {name, ...}}``) and kcanary walks its ``trafficPercent`` through
the steps. Promotion moves the entry's predictor into ``spec.predictor`` and removes the entry
(KServe retargets the stable without restarting pods); rollback removes the entry. The stable's
autoscaling fields are kept on promotion, because KServe forbids them on a canary entry.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from typing import Any, Final

from traffic.conditioned_write import DEFAULT_ATTEMPTS, PlannedPatch, update_with_retry
from traffic.errors import RouteNotFound, UnroutableTarget
from traffic.inference_service import (
    INFERENCE_SERVICE,
    DeploymentMode,
    ServerlessSplit,
    TrafficEntry,
    deployment_mode,
    serverless_split,
)
from traffic.json_patch import add, json_patch, remove, replace
from traffic.router import Drift, Progress, RouterKind, RouteWeights, checked_weight
from traffic.store import JsonObject, NotFound, ObjectRef, PatchType, Store
from traffic.target import RouteTarget

__all__ = [
    "INFERENCE_SERVICE",
    "DeploymentMode",
    "KServeRouter",
    "ServerlessSplit",
    "TrafficEntry",
    "deployment_mode",
]

CANARY_FIELD = "spec.predictor.canaryTrafficPercent"
AUTOSCALING_FIELDS = (
    "minReplicas",
    "maxReplicas",
    "scaleTarget",
    "scaleMetric",
    "scaleMetricType",
    "autoScaling",
)


class KServeRouter:
    """Drives KServe's own canary fields on the InferenceService."""

    def __init__(
        self,
        store: Store,
        target: RouteTarget,
        *,
        default_mode: DeploymentMode = DeploymentMode.SERVERLESS,
        attempts: int = DEFAULT_ATTEMPTS,
    ) -> None:
        self._store = store
        self._target = target
        self._default_mode = default_mode
        self._attempts = attempts
        self._ref = ObjectRef(INFERENCE_SERVICE, target.namespace, target.isvc_name)

    @property
    def kind(self) -> RouterKind:
        return RouterKind.KSERVE

    @property
    def name(self) -> str:
        return str(self._ref)

    # --- the Router interface ----------------------------------------------------------------

    def ensure(self) -> bool:
        """Serverless: keep ``canaryTrafficPercent`` at 0 unless a revision is rolling out.

        The field is set when missing, and reset when KServe reports nothing newer than the
        rolled-out revision (after a promotion, say), so the next revision starts at 0%.
        """
        if self._mode(self._read()) is DeploymentMode.STANDARD:
            return False

        def guarded(current: JsonObject) -> int | None:
            split = serverless_split(current)
            settled = split.canary_revision is not None and not split.rolling_out
            return 0 if _unset(current) or settled else None

        return self._write_serverless(guarded)

    def set_weight(self, canary_percent: int) -> bool:
        weight = checked_weight(canary_percent)
        if self._mode(self._read()) is DeploymentMode.STANDARD:
            return self._write_standard_weight(weight)
        return self._write_serverless(lambda _current: weight)

    def get_weight(self) -> RouteWeights | None:
        """The split asked of KServe (the spec); what Knative applies is :meth:`serverless_split`.

        None for a Serverless ISVC without ``canaryTrafficPercent`` (call :meth:`ensure`).
        """
        isvc = self._read()
        if self._mode(isvc) is DeploymentMode.STANDARD:
            found = self._canary_entry(isvc)
            return RouteWeights(_entry_percent(found[1]) if found else 0)
        percent = _canary_traffic_percent(isvc)
        return RouteWeights(percent) if percent is not None else None

    def verify_weight(self, expected: int) -> Drift | None:
        """Drift when the spec no longer asks for ``expected`` (someone edited the ISVC).

        KServe's status lagging behind the spec is not drift: it catches up on its own.
        """
        weight = checked_weight(expected)
        isvc = self._read()
        if self._mode(isvc) is DeploymentMode.STANDARD:
            found = self._canary_entry(isvc)
            if found is None and weight == 0:
                return None
            if found is None:
                return Drift(self.name, weight, ("there is no spec.canary[] entry",))
            index, entry = found
            if _entry_percent(entry) == weight:
                return None
            where = f"spec.canary[{index}].trafficPercent"
            return Drift(self.name, weight, (f"{where} is {_entry_percent(entry)}",))
        percent = _canary_traffic_percent(isvc)
        if percent == weight:
            return None
        if percent is None:
            return Drift(self.name, weight, (f"{CANARY_FIELD} is not set",))
        return Drift(self.name, weight, (f"{CANARY_FIELD} is {percent}",))

    def promote(self, *, revision: str | None = None) -> Progress:
        """Promote the canary; in Serverless mode ``revision`` names the one analysed.

        Without ``revision`` the newest revision is promoted. With it, a newer revision that
        arrived meanwhile is not promoted unseen: the split goes back to 0 and the caller is told.
        """
        isvc = self._read()
        if self._mode(isvc) is DeploymentMode.STANDARD:
            return self._promote_standard()
        split = serverless_split(isvc)
        promoting = revision or split.canary_revision
        if promoting is None:
            return Progress(False, f"{self.name} has no revision in its status yet")
        if split.stable_revision == promoting:
            # Rolled out: guard the next revision again.
            self._write_serverless(lambda _current: 0)
            return Progress(True, f"{promoting} is rolled out; {CANARY_FIELD} is 0")
        if split.canary_revision != promoting:
            self._write_serverless(lambda _current: 0)
            return Progress(
                False,
                f"revision {promoting} is no longer the newest ({split.canary_revision} is); "
                f"{CANARY_FIELD} is back to 0 until the newer revision has been analysed",
            )
        self._write_serverless(lambda _current: 100)
        if not split.canary_ready:
            return Progress(
                False,
                f"waiting for revision {promoting} to become ready "
                f"(latest ready: {split.ready_revision})",
            )
        return Progress(
            False,
            f"waiting for latestRolledoutRevision to become {promoting} "
            f"(now {split.stable_revision})",
        )

    def roll_back(self) -> Progress:
        isvc = self._read()
        if self._mode(isvc) is DeploymentMode.STANDARD:
            return self._remove_standard_canary()
        self._write_serverless(lambda _current: 0)
        return Progress(True, f"{CANARY_FIELD} is 0: KServe sends all traffic to the stable")

    def hand_back(self) -> None:
        isvc = self._store.get(self._ref)
        if isvc is None or self._mode(isvc) is DeploymentMode.STANDARD:
            return  # nothing of kcanary's is left in a Standard-mode ISVC
        self._write_serverless(lambda _current: REMOVE)

    # --- extra reads for the reconciler ------------------------------------------------------

    def serverless_split(self) -> ServerlessSplit:
        """The split KServe reports now (revisions and percentages), for Serverless ISVCs."""
        return serverless_split(self._read())

    def mode(self) -> DeploymentMode:
        """The ISVC's deployment mode as the router sees it."""
        return self._mode(self._read())

    # --- Serverless --------------------------------------------------------------------------

    def _write_serverless(self, choose: Callable[[JsonObject], int | _Removal | None]) -> bool:
        """Set ``canaryTrafficPercent`` to ``choose(current ISVC)``: None keeps, REMOVE drops it."""

        def plan(current: JsonObject) -> PlannedPatch | None:
            wanted = choose(current)
            if wanted is None or wanted == _canary_traffic_percent(current):
                return None
            if isinstance(wanted, _Removal) and _unset(current):
                return None
            value = None if isinstance(wanted, _Removal) else wanted
            return PlannedPatch({"spec": {"predictor": {"canaryTrafficPercent": value}}})

        return self._update(plan)

    # --- Standard (spec.canary[]) ------------------------------------------------------------

    def _write_standard_weight(self, weight: int) -> bool:
        def plan(current: JsonObject) -> PlannedPatch | None:
            found = self._canary_entry(current)
            if found is None:
                if weight == 0:
                    return None
                raise UnroutableTarget(
                    f"{self.name} runs in Standard mode and has no spec.canary[] entry to send "
                    f"{weight}% to. The kserve router drives KServe's own Standard-mode canary "
                    "(KServe >= 0.20): add the new predictor as a spec.canary[] entry, or use "
                    "kcanary.io/traffic: istio or gateway-api, which need no entry"
                )
            index, entry = found
            if _entry_percent(entry) == weight:
                return None
            path = ("spec", "canary", index, "trafficPercent")
            return PlannedPatch(json_patch(add(path, weight)), PatchType.JSON)

        return self._update(plan)

    def _promote_standard(self) -> Progress:
        def plan(current: JsonObject) -> PlannedPatch | None:
            found = self._canary_entry(current)
            if found is None:
                return None
            index, entry = found
            stable = (current.get("spec") or {}).get("predictor") or {}
            promoted = dict(entry.get("predictor") or {})
            for field in AUTOSCALING_FIELDS:
                if field in stable and field not in promoted:
                    promoted[field] = stable[field]
            return PlannedPatch(
                json_patch(replace(("spec", "predictor"), promoted), _remove_entry(current, index)),
                PatchType.JSON,
            )

        self._update(plan)
        return Progress(True, f"{self.name}: the canary predictor is now spec.predictor")

    def _remove_standard_canary(self) -> Progress:
        def plan(current: JsonObject) -> PlannedPatch | None:
            found = self._canary_entry(current)
            if found is None:
                return None
            return PlannedPatch(json_patch(_remove_entry(current, found[0])), PatchType.JSON)

        self._update(plan)
        return Progress(True, f"{self.name}: the spec.canary[] entry is removed")

    def _canary_entry(self, isvc: JsonObject) -> tuple[int, dict[str, Any]] | None:
        entries = (isvc.get("spec") or {}).get("canary") or []
        if not entries:
            return None
        if len(entries) > 1:
            names = ", ".join(
                str(((entry or {}).get("predictor") or {}).get("name")) for entry in entries
            )
            raise UnroutableTarget(
                f"{self.name} has {len(entries)} spec.canary[] entries ({names}); kcanary "
                "rolls out one canary at a time, so keep only the newest"
            )
        return 0, entries[0]

    # --- shared ------------------------------------------------------------------------------

    def _mode(self, isvc: JsonObject) -> DeploymentMode:
        return deployment_mode(isvc, self._default_mode)

    def _read(self) -> JsonObject:
        isvc = self._store.get(self._ref)
        if isvc is None:
            raise RouteNotFound(f"{self.name} does not exist")
        return isvc

    def _update(self, plan: Callable[[JsonObject], PlannedPatch | None]) -> bool:
        try:
            return update_with_retry(self._store, self._ref, plan, attempts=self._attempts).wrote
        except NotFound:
            raise RouteNotFound(f"{self.name} does not exist") from None


class _Removal(enum.Enum):
    REMOVE = "remove"


REMOVE: Final = _Removal.REMOVE
"""Tells :meth:`KServeRouter._write_serverless` to delete the field."""


def _canary_traffic_percent(isvc: JsonObject) -> int | None:
    value = ((isvc.get("spec") or {}).get("predictor") or {}).get("canaryTrafficPercent")
    return int(value) if isinstance(value, int) else None


def _unset(isvc: JsonObject) -> bool:
    return _canary_traffic_percent(isvc) is None


def _entry_percent(entry: dict[str, Any]) -> int:
    value = entry.get("trafficPercent")
    return int(value) if isinstance(value, int) else 0


def _remove_entry(isvc: JsonObject, index: int) -> dict[str, Any]:
    # Removing the last entry removes the list, as a user editing the spec would.
    entries = (isvc.get("spec") or {}).get("canary") or []
    return remove(("spec", "canary") if len(entries) == 1 else ("spec", "canary", index))
