"""What the istio and gateway-api routers share: a route object with weighted destinations.

Both keep a route that splits traffic between the primary copy's Service (stable) and the
ISVC's own Service (canary). They either *own* it (``<isvc>-kcanary``, created and rewritten
whole, deleted on hand back) or *adopt* the user's route (``kcanary.io/route``), where only the
weights of those two destinations change, in every rule that sends to both, by JSON patch
operations that touch nothing else.

An adopted route lives in the ISVC's namespace. Rules that send to only one of the two Services
(a header-matched test route, say) are left alone; a route KServe owns is refused, since KServe
reverts edits to it.

A mesh supplies the resource type, the owned object, how to find the weighted lists in a route
(:class:`Split`) and how to turn a percentage into its weights.

Handing back an adopted route sends the pair's whole share to the ISVC's own Service: the
primary copy is deleted with the hand back, and while Stable the ISVC runs the stable spec, so
this is the route the user had before kcanary. The destinations stay in place (at weight 0 for
the primary) so that turning kcanary on again finds them.
"""

from __future__ import annotations

import abc
import contextlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from traffic.conditioned_write import (
    DEFAULT_ATTEMPTS,
    PlannedPatch,
    update_with_retry,
)
from traffic.errors import RouteNotFound, RouteNotManaged, UnroutableTarget
from traffic.json_patch import add, json_patch, replace
from traffic.router import Drift, Progress, RouterKind, RouteWeights, checked_weight
from traffic.store import (
    AlreadyExists,
    JsonObject,
    NotFound,
    ObjectRef,
    PatchType,
    ResourceType,
    Store,
)
from traffic.target import MANAGED_BY_LABEL, RouteTarget

__all__ = ["Split", "WeightedRouteRouter", "contains", "half_up", "share_of"]


@dataclass(frozen=True)
class Split:
    """One weighted list in a route that sends to both the stable and the canary Service."""

    location: str
    """Where it is, for people: ``spec.http[1] ("default")``."""
    path: tuple[str | int, ...]
    """Where the list of weighted entries is in the route: ``("spec", "http", 1, "route")``."""
    stable: int
    """Index of the stable Service's entry in the list."""
    canary: int
    """Index of the canary Service's entry in the list."""
    weights: tuple[int, ...]
    """Every entry's weight as the data plane sees it (defaults applied)."""

    @property
    def canary_percent(self) -> int:
        """The canary's share of what the pair receives, rounded to a whole percent."""
        return share_of(self.weights[self.canary], self.weights[self.stable])

    def describe(self) -> str:
        """``spec.http[0]: stable 90, canary 10``, plus other entries when there are some."""
        text = (
            f"{self.location}: stable {self.weights[self.stable]}, "
            f"canary {self.weights[self.canary]}"
        )
        others = [w for i, w in enumerate(self.weights) if i not in (self.stable, self.canary)]
        if others:
            text += ", others " + ", ".join(str(w) for w in others)
        return text


def share_of(canary: int, stable: int) -> int:
    """``canary``'s share of ``canary + stable`` in whole percent (0 when both are 0)."""
    pair = canary + stable
    return (canary * 200 + pair) // (2 * pair) if pair > 0 else 0


def contains(actual: Any, desired: Any) -> bool:
    """Whether ``actual`` holds everything ``desired`` says (it may hold server defaults too)."""
    if isinstance(desired, dict):
        return isinstance(actual, dict) and all(
            key in actual and contains(actual[key], value) for key, value in desired.items()
        )
    if isinstance(desired, list):
        return (
            isinstance(actual, list)
            and len(actual) == len(desired)
            and all(contains(a, d) for a, d in zip(actual, desired, strict=True))
        )
    return bool(actual == desired)


class WeightedRouteRouter(abc.ABC):
    """A :class:`~traffic.router.Router` over one route object with weighted destinations."""

    resource: ResourceType
    router_kind: RouterKind

    def __init__(
        self,
        store: Store,
        target: RouteTarget,
        *,
        resource: ResourceType | None = None,
        attempts: int = DEFAULT_ATTEMPTS,
    ) -> None:
        """``resource`` overrides the API version (an Istio older than 1.22 serves only v1beta1)."""
        if resource is not None:
            if resource.kind != self.resource.kind:
                raise ValueError(f"{type(self).__name__} routes {self.resource.kind} objects")
            self.resource = resource
        self._store = store
        self._target = target
        self._attempts = attempts
        self._ref = ObjectRef(self.resource, target.namespace, target.route_name)

    # --- what a mesh supplies ----------------------------------------------------------------

    @abc.abstractmethod
    def owned_route(self, canary_percent: int) -> JsonObject:
        """The whole owned route object sending ``canary_percent`` to the canary."""

    @abc.abstractmethod
    def splits(self, route: JsonObject) -> list[Split]:
        """The lists in ``route`` that send to both Services; UnroutableTarget if none."""

    @abc.abstractmethod
    def planned_weights(self, split: Split, canary_percent: int) -> tuple[int, ...]:
        """The weights ``split`` must hold to send ``canary_percent`` to the canary."""

    # --- the Router interface ----------------------------------------------------------------

    @property
    def kind(self) -> RouterKind:
        return self.router_kind

    @property
    def name(self) -> str:
        return str(self._ref)

    @property
    def adopted(self) -> bool:
        """Whether this router drives the user's route rather than its own."""
        return self._target.adopted_route is not None

    def ensure(self) -> bool:
        if self.adopted:
            self.splits(self._read_adopted())
            return False
        current = self._store.get(self._ref)
        if current is None:
            return self._create_owned(0)
        self._check_managed(current)
        try:
            weight = self.splits(current)[0].canary_percent
        except UnroutableTarget:
            weight = 0  # the owned route was broken by hand: restore it sending to stable
        return self._write_owned(weight)

    def set_weight(self, canary_percent: int) -> bool:
        weight = checked_weight(canary_percent)
        if self.adopted:
            return self._write_adopted(weight)
        return self._write_owned(weight)

    def get_weight(self) -> RouteWeights | None:
        if self.adopted:
            return RouteWeights(canary=self.splits(self._read_adopted())[0].canary_percent)
        route = self._store.get(self._ref)
        if route is None:
            return None
        try:
            return RouteWeights(canary=self.splits(route)[0].canary_percent)
        except UnroutableTarget:
            return None  # the owned route was broken by hand; ensure() rewrites it

    def verify_weight(self, expected: int) -> Drift | None:
        weight = checked_weight(expected)
        route = self._read_adopted() if self.adopted else self._store.get(self._ref)
        if route is None:
            return Drift(self.name, weight, ("the route does not exist",))
        if not self.adopted:
            return self._owned_drift(route, weight)
        differing = tuple(
            f"{split.describe()} (expected {_weights_text(split, planned)})"
            for split in self.splits(route)
            if (planned := self.planned_weights(split, weight)) != split.weights
        )
        return Drift(self.name, weight, differing) if differing else None

    def promote(self) -> Progress:
        # The caller has already made the primary copy run the canary's spec; moving all traffic
        # back to it completes the promotion without a second copy.
        self.set_weight(0)
        return Progress(True, f"{self.name} sends all traffic to the promoted primary")

    def roll_back(self) -> Progress:
        self.set_weight(0)
        return Progress(True, f"{self.name} sends all traffic to the stable primary")

    def hand_back(self) -> None:
        if self.adopted:
            if self._store.get(self._ref) is not None:
                self._write_adopted(100)
            return
        current = self._store.get(self._ref)
        if current is None or not _is_managed(current):
            return  # never delete an object kcanary did not create
        with contextlib.suppress(NotFound):  # deleted meanwhile: as good
            self._store.delete(self._ref)

    # --- internals ---------------------------------------------------------------------------

    def _read_adopted(self) -> JsonObject:
        route = self._store.get(self._ref)
        if route is None:
            raise RouteNotFound(
                f"{self.name}, named by kcanary.io/route on InferenceService "
                f"{self._target.namespace}/{self._target.isvc_name}, does not exist; create it "
                "or remove the annotation to let kcanary create its own route"
            )
        self._check_adoptable(route)
        return route

    def _check_adoptable(self, route: JsonObject) -> None:
        owners = (route.get("metadata") or {}).get("ownerReferences") or []
        if any(_is_kserve_controller(owner) for owner in owners):
            # KServe reverts every edit to the routes it owns: the weights would not hold.
            raise UnroutableTarget(
                f"{self.name} is created and reconciled by KServe, which reverts kcanary's "
                "weights; remove the kcanary.io/route annotation so that kcanary creates its own "
                "route, and label the InferenceService networking.kserve.io/visibility: "
                "cluster-local so that KServe's route does not compete for the host"
            )

    def _owned_drift(self, route: JsonObject, weight: int) -> Drift | None:
        if contains(route.get("spec"), self.owned_route(weight)["spec"]):
            return None
        try:
            splits = self.splits(route)
        except UnroutableTarget:
            return Drift(self.name, weight, ("no rule sends to both the stable and the canary",))
        wrong = tuple(
            split.describe()
            for split in splits
            if (split.weights[split.stable], split.weights[split.canary]) != (100 - weight, weight)
        )
        return Drift(
            self.name,
            weight,
            wrong or ("its hosts, gateways or rules differ from what kcanary wrote",),
        )

    def _check_managed(self, route: JsonObject) -> None:
        if not _is_managed(route):
            key, value = MANAGED_BY_LABEL
            raise RouteNotManaged(
                f"{self.name} exists but was not created by kcanary (no label {key}={value}); "
                "delete or rename it, or let kcanary adopt it with the annotation "
                f"kcanary.io/route: {self._ref.name}"
            )

    def _create_owned(self, weight: int) -> bool:
        try:
            self._store.create(self._ref, self.owned_route(weight))
        except AlreadyExists:
            return self._write_owned(weight)  # created meanwhile: bring it to the weight
        return True

    def _write_owned(self, weight: int) -> bool:
        desired_spec = self.owned_route(weight)["spec"]

        def plan(current: JsonObject) -> PlannedPatch | None:
            self._check_managed(current)
            if contains(current.get("spec"), desired_spec):
                return None
            return PlannedPatch(json_patch(replace(("spec",), desired_spec)), PatchType.JSON)

        try:
            return update_with_retry(self._store, self._ref, plan, attempts=self._attempts).wrote
        except NotFound:
            return self._create_owned(weight)

    def _write_adopted(self, weight: int) -> bool:
        def plan(current: JsonObject) -> PlannedPatch | None:
            self._check_adoptable(current)
            operations = [
                add((*split.path, index, "weight"), new)
                for split in self.splits(current)
                for index, (old, new) in enumerate(
                    zip(split.weights, self.planned_weights(split, weight), strict=True)
                )
                if old != new
            ]
            return PlannedPatch(json_patch(*operations), PatchType.JSON) if operations else None

        try:
            return update_with_retry(self._store, self._ref, plan, attempts=self._attempts).wrote
        except NotFound:
            self._read_adopted()  # raises RouteNotFound with the full explanation
            raise


def _is_kserve_controller(owner: Any) -> bool:
    return (
        isinstance(owner, dict)
        and bool(owner.get("controller"))
        and str(owner.get("apiVersion", "")).startswith("serving.kserve.io/")
    )


def _is_managed(route: JsonObject) -> bool:
    key, value = MANAGED_BY_LABEL
    return bool(((route.get("metadata") or {}).get("labels") or {}).get(key) == value)


def _weights_text(split: Split, weights: Sequence[int]) -> str:
    return f"stable {weights[split.stable]}, canary {weights[split.canary]}"


def half_up(numerator: int, denominator: int) -> int:
    """``numerator / denominator`` rounded half up, in integers."""
    return (2 * numerator + denominator) // (2 * denominator)
