"""Carrying out the state machine's actions (rollout.actions) against the cluster.

Every action is idempotent here, because a controller killed after an action and before the
status write does it again: the primary copy is written only when it does not already run the
revision asked for, a weight only when the route holds another one (the routers write nothing
otherwise), a manual action is removed only while it still says what was taken (a JSON patch
`test`), and a hand back finds nothing left to delete.

A before-commit action that cannot be done raises (a store error, a router error or
`ActionFailed`), which stops the reconcile before the status write; the reconcile is retried.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field

from reconcile.events import EventRecorder, InvolvedObject
from reconcile.log_fields import rollout_logger
from reconcile.metrics import MetricsRecorder
from reconcile.observe import ACTION_ANNOTATION, PRIMARY_REVISION_ANNOTATION
from reconcile.primary_copy import CannotPin, build_primary, is_primary_copy
from reconcile.resources import ClusterStore, RolloutObjects, resource_version
from rollout.actions import (
    Action,
    ConsumeAction,
    EmitEvent,
    EnsurePrimary,
    HandBack,
    PromoteInRouter,
    RecordDecision,
    SetWeight,
)
from rollout.revision import revision_of
from traffic.json_patch import add, guard, json_patch, remove, replace
from traffic.router import Router
from traffic.store import AlreadyExists, Conflict, Invalid, JsonObject, NotFound, PatchType
from traffic.weighted_route import contains

log = rollout_logger(__name__)


class ActionFailed(Exception):
    """An action could not be carried out; the message says what is wrong and what to change."""


@dataclass
class ActionContext:
    """What the actions of one reconcile act on."""

    objects: RolloutObjects
    isvc: JsonObject
    involved: InvolvedObject
    router: Router | None = None
    """The router of the current strategy (None when the strategy cannot be used)."""
    hand_back_routers: list[Router] = field(default_factory=list)
    """Routers to hand back through: the remembered mode's, once the strategy is gone."""
    removed_at_version: str | None = None
    """The ISVC's resourceVersion once this reconcile removed the manual-action annotation."""


class Executor:
    def __init__(
        self, store: ClusterStore, events: EventRecorder, metrics: MetricsRecorder
    ) -> None:
        self._store = store
        self._events = events
        self._metrics = metrics

    def carry_out(self, action: Action, context: ActionContext) -> None:
        if isinstance(action, EnsurePrimary):
            self._ensure_primary(action, context)
        elif isinstance(action, SetWeight):
            self._set_weight(action.weight, context)
        elif isinstance(action, PromoteInRouter):
            progress = self._router(context).promote()
            log.info("%s: %s", context.objects, progress.message)
        elif isinstance(action, HandBack):
            self._hand_back(context)
        elif isinstance(action, ConsumeAction):
            self._consume(action.action, context)
        elif isinstance(action, EmitEvent):
            self._events.record(context.involved, action.type.value, action.reason, action.message)
        elif isinstance(action, RecordDecision):
            self._metrics.record_decision(
                context.objects.namespace, context.objects.name, action.decision.value
            )

    # -- traffic -------------------------------------------------------------------------------

    def _router(self, context: ActionContext) -> Router:
        if context.router is None:
            raise ActionFailed(f"{context.objects}: no usable router for the strategy")
        return context.router

    def _set_weight(self, weight: int, context: ActionContext) -> None:
        router = self._router(context)
        router.ensure()
        router.set_weight(weight)
        drift = router.verify_weight(weight)
        if drift is not None:
            raise ActionFailed(drift.message)

    # -- the primary copy ----------------------------------------------------------------------

    def _ensure_primary(self, action: EnsurePrimary, context: ActionContext) -> None:
        isvc = context.isvc
        if revision_of(isvc).hash != action.revision.hash:
            return  # the ISVC no longer runs that revision: nothing to copy it from
        desired = build_primary(isvc, dict(isvc.get("spec") or {}))
        if isinstance(desired, CannotPin):
            raise ActionFailed(desired.message)
        desired["metadata"]["annotations"][PRIMARY_REVISION_ANNOTATION] = action.revision.hash
        ref = context.objects.primary
        current = self._store.get(ref)
        if current is None:
            try:
                self._store.create(ref, desired)
                return
            except AlreadyExists:
                current = self._store.get(ref)
                if current is None:
                    raise
        if not is_primary_copy(current):
            raise ActionFailed(
                f"InferenceService {ref.namespace}/{ref.name} exists and was not made by kcanary "
                "(no label app.kubernetes.io/managed-by: kcanary); rename or delete it, since "
                "kcanary keeps the stable revision there"
            )
        meta = current.get("metadata") or {}
        labels = {**(meta.get("labels") or {}), **desired["metadata"]["labels"]}
        annotations = {**desired["metadata"]["annotations"]}
        if (
            contains(current.get("spec"), desired["spec"])
            and contains(meta.get("labels") or {}, desired["metadata"]["labels"])
            and (meta.get("annotations") or {}).get(PRIMARY_REVISION_ANNOTATION)
            == action.revision.hash
        ):
            return
        self._store.patch(
            ref,
            json_patch(
                replace(("spec",), desired["spec"]),
                add(("metadata", "labels"), labels),
                add(("metadata", "annotations"), annotations),
            ),
            resource_version=resource_version(current),
            patch_type=PatchType.JSON,
        )

    # -- handing back ---------------------------------------------------------------------------

    def _hand_back(self, context: ActionContext) -> None:
        for router in context.hand_back_routers:
            router.hand_back()
        primary = self._store.get(context.objects.primary)
        if primary is not None and is_primary_copy(primary):
            with contextlib.suppress(NotFound):
                self._store.delete(context.objects.primary)
        with contextlib.suppress(NotFound):
            self._store.delete(context.objects.rollout)

    # -- manual actions -------------------------------------------------------------------------

    def _consume(self, action: str, context: ActionContext) -> None:
        path = ("metadata", "annotations", ACTION_ANNOTATION)
        try:
            removed = self._store.patch(
                context.objects.isvc,
                json_patch(guard(path, action), remove(path)),
                resource_version=None,
                patch_type=PatchType.JSON,
            )
            context.removed_at_version = resource_version(removed)
        except (Invalid, NotFound, Conflict) as error:
            # A newer request replaced it, someone removed it, or the ISVC is gone.
            log.info("%s: %s left as it is: %s", context.objects, ACTION_ANNOTATION, error)
