"""Standard (RawDeployment) mode: a Deployment and Service per predictor, and KServe's ingress.

The stable predictor runs as Deployment and Service `<isvc>-predictor` (or
`<isvc>-<name>-predictor` when `spec.predictor.name` is set); each `spec.canary[]` entry of
KServe >= 0.20 as `<isvc>-<name>-predictor`. Without the cluster-local label the ISVC gets an
Ingress `<isvc>`, or with Gateway API the HTTPRoutes `<isvc>` (weighted between the stable and
the ready canaries) and `<isvc>-predictor`. `PredictorReady` follows the Deployment's `Available`
condition, which stays True through a rolling update, so the ISVC stays Ready while old and new
pods both serve.
"""

from __future__ import annotations

from typing import Any

from sim.kserve import objects
from sim.kserve.conditions import Condition, ready_of
from sim.kserve.context import ReconcileContext, cluster_local_host

Obj = dict[str, Any]


def predictor_service_name(isvc_name: str, predictor: Obj) -> str:
    name = predictor.get("name")
    return f"{isvc_name}-{name}-predictor" if name else f"{isvc_name}-predictor"


def deployment_readiness(deployment: Obj | None) -> Condition:
    """PredictorReady from the Deployment's status, as KServe's raw-mode reconciler reads it."""
    if deployment is None:
        return Condition("PredictorReady", "Unknown", "Creating", "Deployment is being created")
    status = deployment.get("status") or {}
    by_type = {c.get("type"): c for c in status.get("conditions") or []}
    progressing = by_type.get("Progressing") or {}
    if progressing.get("status") == "False":
        return Condition(
            "PredictorReady",
            "False",
            str(progressing.get("reason")),
            str(progressing.get("message")),
        )
    available = by_type.get("Available")
    if available is None:
        return Condition("PredictorReady", "Unknown", "Creating", "Deployment has no status yet")
    if available.get("status") == "True":
        return Condition("PredictorReady", "True")
    return Condition(
        "PredictorReady", "False", str(available.get("reason")), str(available.get("message"))
    )


def reconcile_standard(isvc: Obj, context: ReconcileContext) -> Obj:
    """Write the owned objects; return the status KServe would write."""
    namespace, name = objects.meta(isvc)
    spec = isvc.get("spec") or {}
    predictor = spec.get("predictor") or {}
    stable = predictor_service_name(name, predictor)
    context.deployments.ensure(objects.predictor_deployment(isvc, stable, predictor))
    context.services.ensure(objects.service(isvc, stable, {"app": f"isvc.{stable}"}))

    # KServe serves `spec.canary[]` only with the mode annotation literally `Standard`.
    annotations = (isvc.get("metadata") or {}).get("annotations") or {}
    canaries = (
        [c for c in spec.get("canary") or [] if isinstance(c, dict)]
        if annotations.get(objects.DEPLOYMENT_MODE) == "Standard"
        else []
    )
    canary_statuses: list[Obj] = []
    ready_weights: list[tuple[str, int]] = []
    for canary in canaries:
        canary_predictor = canary.get("predictor") or {}
        canary_name = predictor_service_name(name, canary_predictor)
        context.deployments.ensure(
            objects.predictor_deployment(isvc, canary_name, canary_predictor)
        )
        context.services.ensure(objects.service(isvc, canary_name, {"app": f"isvc.{canary_name}"}))
        readiness = deployment_readiness(context.deployments.feed.get(namespace, canary_name))
        percent = int(canary.get("trafficPercent") or 0)
        ready = readiness.status == "True"
        if ready:
            ready_weights.append((canary_name, percent))
        canary_statuses.append(
            {
                "name": canary_predictor.get("name"),
                "ready": ready,
                "trafficPercent": percent if ready else 0,
                "modelStatus": {"states": {"activeModelState": "Loaded" if ready else "Pending"}},
            }
        )
    _retire_predictors(
        isvc,
        context,
        keep={
            stable,
            *(predictor_service_name(name, (c.get("predictor") or {})) for c in canaries),
        },
    )

    ingress_ready = _ensure_ingress(isvc, context, stable, ready_weights)
    predictor_ready = deployment_readiness(context.deployments.feed.get(namespace, stable))
    parts = [predictor_ready, ingress_ready]
    conditions = list(parts)
    if canaries:
        all_ready = all(c["ready"] for c in canary_statuses)
        conditions.append(
            Condition("CanaryPredictorReady", "True")
            if all_ready
            else Condition("CanaryPredictorReady", "False", "CanaryNotReady", "canary is not ready")
        )
    conditions.append(ready_of(parts))
    local = objects.is_cluster_local(isvc)
    url = (
        f"http://{cluster_local_host(stable, namespace)}"
        if local
        else context.config.url(name, namespace)
    )
    predictor_url = (
        f"http://{cluster_local_host(stable, namespace)}"
        if local
        else context.config.url(f"{name}-predictor", namespace)
    )
    status: Obj = {
        "url": url,
        "address": {"url": f"http://{cluster_local_host(stable, namespace)}"},
        "deploymentMode": objects.deployment_mode(isvc),
        "conditions": conditions,
        "components": {"predictor": {"url": predictor_url}},
    }
    status["canaryStatuses"] = canary_statuses if canaries else None
    return status


def _retire_predictors(isvc: Obj, context: ReconcileContext, keep: set[str]) -> None:
    """Delete predictor Deployments of this ISVC that no longer back the stable or a canary."""
    namespace, name = objects.meta(isvc)
    for deployment in context.deployments.feed.items():
        meta = deployment.get("metadata") or {}
        labels = meta.get("labels") or {}
        if (
            meta.get("namespace") == namespace
            and labels.get("serving.kserve.io/inferenceservice") == name
            and "serving.knative.dev/revision" not in labels
            and meta.get("name") not in keep
        ):
            context.deployments.remove(namespace, str(meta.get("name")))
            context.services.remove(namespace, str(meta.get("name")))


def _ensure_ingress(
    isvc: Obj, context: ReconcileContext, stable: str, canaries: list[tuple[str, int]]
) -> Condition:
    namespace, name = objects.meta(isvc)
    config = context.config
    revert = context.hostility.revert_route_edits
    routes = (name, f"{name}-predictor")
    if objects.is_cluster_local(isvc):
        context.ingresses.remove(namespace, name)
        for route in routes:
            context.http_routes.remove(namespace, route)
        return Condition("IngressReady", "True")
    if config.enable_gateway_api:
        context.ingresses.remove(namespace, name)
        stable_weight = 100 - sum(p for _, p in canaries)
        backends: list[tuple[str, int | None]] = (
            [(stable, stable_weight), *canaries] if canaries else [(stable, None)]
        )
        top = context.http_routes.ensure(
            objects.http_route(
                isvc, config, route_name=name, host=config.host(name, namespace), backends=backends
            ),
            revert=revert,
        )
        inner = context.http_routes.ensure(
            objects.http_route(
                isvc,
                config,
                route_name=f"{name}-predictor",
                host=config.host(f"{name}-predictor", namespace),
                backends=[(stable, None)],
            ),
            revert=revert,
        )
        done = top is not None and inner is not None
    else:
        for route in routes:
            context.http_routes.remove(namespace, route)
        done = (
            context.ingresses.ensure(objects.ingress(isvc, config, stable), revert=revert)
            is not None
        )
    if done:
        return Condition("IngressReady", "True")
    return Condition("IngressReady", "Unknown", "Creating", "ingress is being created")
