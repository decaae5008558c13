"""Serverless (Knative) mode: one revision per predictor change, traffic by `canaryTrafficPercent`.

Knative's revisions are kept as what Knative runs for them, `<revision>-deployment` and a Service
`<revision>`, labelled with the revision and its configuration generation; the predictor spec a
revision runs is recorded on its Deployment, so a restarted stand-in finds its revisions again.
A change of the predictor other than `canaryTrafficPercent` makes a new revision, as the Knative
Configuration's template changes only then. Traffic and the rolled-out revisions follow
`serverless_traffic`; revisions that no route entry names any more are retired (their pods stop).
The route itself is Knative's: the gateway reads it from `status.components.predictor.traffic`.
"""

from __future__ import annotations

from typing import Any

from sim.kserve import objects
from sim.kserve.conditions import Condition, ready_of
from sim.kserve.context import ReconcileContext, cluster_local_host
from sim.kserve.serverless_traffic import PredictorTraffic, RevisionState, next_traffic
from sim.pods import ISVC_LABEL, REVISION_LABEL, template_hash

Obj = dict[str, Any]


def _revision_deployments(isvc: Obj, context: ReconcileContext) -> list[Obj]:
    namespace, name = objects.meta(isvc)
    found = []
    for deployment in context.deployments.feed.items():
        meta = deployment.get("metadata") or {}
        labels = meta.get("labels") or {}
        if (
            meta.get("namespace") == namespace
            and labels.get(ISVC_LABEL) == name
            and labels.get(REVISION_LABEL)
            and not meta.get("deletionTimestamp")
        ):
            found.append(deployment)
    return sorted(found, key=_generation)


def _generation(deployment: Obj) -> int:
    labels = (deployment.get("metadata") or {}).get("labels") or {}
    try:
        return int(labels.get(objects.CONFIGURATION_GENERATION, "0"))
    except ValueError:
        return 0


def _rolled_out(deployment: Obj) -> bool:
    """Whether a revision's Deployment has all its replicas available for its current spec."""
    meta = deployment.get("metadata") or {}
    status = deployment.get("status") or {}
    wanted = int((deployment.get("spec") or {}).get("replicas", 1))
    return (
        int(status.get("observedGeneration") or 0) >= int(meta.get("generation") or 1)
        and int(status.get("updatedReplicas") or 0) >= wanted
        and int(status.get("availableReplicas") or 0) >= wanted
    )


def _failure(deployment: Obj) -> str | None:
    for condition in (deployment.get("status") or {}).get("conditions") or []:
        if condition.get("type") == "Progressing" and condition.get("status") == "False":
            return str(condition.get("message") or condition.get("reason"))
    return None


def reconcile_serverless(isvc: Obj, context: ReconcileContext) -> Obj:
    """Create the next revision if the predictor changed, route, retire; return the status."""
    namespace, name = objects.meta(isvc)
    predictor = (isvc.get("spec") or {}).get("predictor") or {}
    wanted = objects.revision_spec(predictor)
    wanted_hash = template_hash(wanted)
    deployments = _revision_deployments(isvc, context)
    latest = deployments[-1] if deployments else None
    latest_hash = (
        ((latest or {}).get("metadata") or {}).get("annotations", {}).get(objects.PREDICTOR_HASH)
    )
    if latest is None or latest_hash != wanted_hash:
        generation = (_generation(latest) if latest is not None else 0) + 1
        created = context.deployments.ensure(
            objects.revision_deployment(isvc, generation, wanted, wanted_hash)
        )
        revision = objects.revision_name(name, generation)
        context.services.ensure(objects.service(isvc, revision, {REVISION_LABEL: revision}))
        if created is not None:
            deployments.append(created)

    revisions = [
        RevisionState(
            name=str(((d.get("metadata") or {}).get("labels") or {}).get(REVISION_LABEL)),
            generation=_generation(d),
            ready=_rolled_out(d),
        )
        for d in deployments
    ]
    before = ((isvc.get("status") or {}).get("components") or {}).get("predictor") or {}
    annotations = (isvc.get("metadata") or {}).get("annotations") or {}
    local = objects.is_cluster_local(isvc)
    config = context.config
    tag_url = None
    if annotations.get(objects.TAG_ROUTING) == "true" and not local:

        def tag_url(tag: str) -> str:
            return config.url(f"{tag}-{name}-predictor", namespace)

    canary = predictor.get("canaryTrafficPercent")
    traffic = next_traffic(
        revisions,
        canary_percent=int(canary) if isinstance(canary, int) else None,
        rolled_out=before.get("latestRolledoutRevision"),
        previous=before.get("previousRolledoutRevision"),
        tag_url=tag_url,
    )
    _retire(isvc, context, deployments, traffic)

    if local:
        url = f"http://{cluster_local_host(name, namespace)}"
        predictor_url = f"http://{cluster_local_host(name + '-predictor', namespace)}"
    else:
        url = config.url(name, namespace)
        predictor_url = config.url(f"{name}-predictor", namespace)
    latest_failure = _failure(deployments[-1]) if deployments else None
    configuration = _configuration_condition(traffic, latest_failure)
    route = (
        Condition("PredictorRouteReady", "True")
        if traffic.traffic
        else Condition("PredictorRouteReady", "Unknown", "RevisionMissing", "no ready revision yet")
    )
    predictor_ready = ready_of([configuration, route])
    predictor_ready = Condition(
        "PredictorReady", predictor_ready.status, predictor_ready.reason, predictor_ready.message
    )
    ingress = Condition("IngressReady", route.status, route.reason, route.message)
    parts = [predictor_ready, ingress]
    return {
        "url": url,
        "address": {"url": f"http://{cluster_local_host(name, namespace)}"},
        "deploymentMode": objects.deployment_mode(isvc),
        "conditions": [configuration, route, *parts, ready_of(parts)],
        "components": {
            "predictor": {
                "url": predictor_url,
                "address": {"url": f"http://{cluster_local_host(name + '-predictor', namespace)}"},
                "latestCreatedRevision": traffic.latest_created,
                "latestReadyRevision": traffic.latest_ready,
                "latestRolledoutRevision": traffic.latest_rolledout,
                "previousRolledoutRevision": traffic.previous_rolledout,
                "traffic": [entry.as_status() for entry in traffic.traffic],
            }
        },
    }


def _configuration_condition(traffic: PredictorTraffic, failure: str | None) -> Condition:
    """Knative's Configuration readiness: Unknown while its latest revision is not ready yet."""
    if traffic.latest_created is not None and traffic.latest_created == traffic.latest_ready:
        return Condition("PredictorConfigurationReady", "True")
    if failure is not None:
        return Condition(
            "PredictorConfigurationReady",
            "False",
            "RevisionFailed",
            f'Revision "{traffic.latest_created}" failed with message: {failure}.',
        )
    return Condition(
        "PredictorConfigurationReady",
        "Unknown",
        "RevisionMissing",
        f'Configuration is waiting for a Revision "{traffic.latest_created}" to become ready.',
    )


def _retire(
    isvc: Obj, context: ReconcileContext, deployments: list[Obj], traffic: PredictorTraffic
) -> None:
    """Remove revisions that get no traffic and are not the latest one."""
    namespace, _ = objects.meta(isvc)
    if not traffic.traffic:
        return
    keep = traffic.serving() | {traffic.latest_created}
    for deployment in deployments:
        labels = (deployment.get("metadata") or {}).get("labels") or {}
        revision = str(labels.get(REVISION_LABEL))
        if revision not in keep:
            context.deployments.remove(namespace, f"{revision}-deployment")
            context.services.remove(namespace, revision)
