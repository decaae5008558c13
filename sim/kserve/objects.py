"""The objects KServe (and Knative, in Serverless mode) create for an InferenceService.

Pure builders from the ISVC dict: the predictor's pod template, its Deployment and Service, the
networking.k8s.io Ingress or Gateway API HTTPRoutes of Standard mode, and a Knative revision's
Deployment and Service. Every object carries a controller ownerReference to the ISVC, so the
garbage collector removes them with it.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from typing import Any

from sim.kserve.ingress_config import IngressConfig
from sim.pods import (
    ISVC_LABEL,
    KNATIVE_SERVICE_LABEL,
    PROTOCOL_ANNOTATION,
    REVISION_LABEL,
    STORAGE_URI_ANNOTATION,
)

Obj = dict[str, Any]

DEPLOYMENT_MODE = "serving.kserve.io/deploymentMode"
VISIBILITY_LABEL = "networking.kserve.io/visibility"
TAG_ROUTING = "serving.kserve.io/enable-tag-routing"
CONFIGURATION_GENERATION = "serving.knative.dev/configurationGeneration"
PREDICTOR_HASH = "serving.kserve.io/predictor-hash"  # which predictor spec a revision runs
COMPONENT_LABEL = "component"
MODEL_PORT = 8080


def meta(isvc: Obj) -> tuple[str, str]:
    m = isvc.get("metadata") or {}
    return str(m.get("namespace") or "default"), str(m.get("name") or "")


def owner_reference(isvc: Obj) -> Obj:
    m = isvc.get("metadata") or {}
    return {
        "apiVersion": "serving.kserve.io/v1beta1",
        "kind": "InferenceService",
        "name": m.get("name"),
        "uid": m.get("uid"),
        "controller": True,
        "blockOwnerDeletion": True,
    }


def is_serverless(isvc: Obj) -> bool:
    mode = ((isvc.get("metadata") or {}).get("annotations") or {}).get(DEPLOYMENT_MODE)
    return mode in (None, "", "Serverless", "Knative")


def deployment_mode(isvc: Obj) -> str:
    """The resolved mode as KServe writes it to `status.deploymentMode`."""
    mode = ((isvc.get("metadata") or {}).get("annotations") or {}).get(DEPLOYMENT_MODE)
    return str(mode) if mode else "Serverless"


def is_cluster_local(isvc: Obj) -> bool:
    labels = (isvc.get("metadata") or {}).get("labels") or {}
    return labels.get(VISIBILITY_LABEL) == "cluster-local"


def revision_spec(predictor: Mapping[str, Any]) -> Obj:
    """The predictor as a revision template sees it: without `canaryTrafficPercent`."""
    return {k: copy.deepcopy(v) for k, v in predictor.items() if k != "canaryTrafficPercent"}


def pod_template(isvc_name: str, predictor: Mapping[str, Any], labels: Mapping[str, str]) -> Obj:
    """The pod template KServe's runtimes produce for a predictor.

    KServe's Python runtimes pass `--model_name=<isvc>` before the model's own args (argparse: the
    last one wins); MLServer gets `MLSERVER_MODEL_NAME=<isvc>` before the model's own env.
    """
    model = predictor.get("model") or {}
    runtime = str(model.get("runtime") or "")
    model_format = str((model.get("modelFormat") or {}).get("name") or "sklearn")
    mlserver = "mlserver" in runtime
    user_args = [str(a) for a in model.get("args") or []]
    user_env = [
        {"name": str(e.get("name")), "value": str(e.get("value", ""))}
        for e in model.get("env") or []
        if isinstance(e, Mapping) and e.get("name")
    ]
    args = user_args if mlserver else [f"--model_name={isvc_name}", "--model_dir=/mnt/models",
                                       f"--http_port={MODEL_PORT}", *user_args]  # fmt: skip
    env = ([{"name": "MLSERVER_MODEL_NAME", "value": isvc_name}] if mlserver else []) + user_env
    env.append({"name": "STORAGE_URI", "value": str(model.get("storageUri") or "")})
    annotations = {STORAGE_URI_ANNOTATION: str(model.get("storageUri") or "")}
    if model.get("protocolVersion"):
        annotations[PROTOCOL_ANNOTATION] = str(model["protocolVersion"])
    image = "docker.io/seldonio/mlserver:sim" if mlserver else f"kserve/{model_format}server:sim"
    return {
        "metadata": {"labels": dict(labels), "annotations": annotations},
        "spec": {
            "containers": [
                {
                    "name": "kserve-container",
                    "image": image,
                    "args": args,
                    "env": env,
                    "ports": [{"containerPort": MODEL_PORT, "protocol": "TCP"}],
                }
            ]
        },
    }


def replicas_of(predictor: Mapping[str, Any]) -> int:
    value = predictor.get("minReplicas")
    return int(value) if isinstance(value, int) and value > 0 else 1


def predictor_deployment(isvc: Obj, name: str, predictor: Mapping[str, Any]) -> Obj:
    """Standard mode's Deployment `name` (`<isvc>-predictor`, or a canary's) and its pods."""
    namespace, isvc_name = meta(isvc)
    labels = {"app": f"isvc.{name}", ISVC_LABEL: isvc_name, COMPONENT_LABEL: "predictor"}
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "labels": dict(labels),
            "ownerReferences": [owner_reference(isvc)],
        },
        "spec": {
            "replicas": replicas_of(predictor),
            "selector": {"matchLabels": {"app": f"isvc.{name}"}},
            "template": pod_template(isvc_name, predictor, labels),
            "strategy": {
                "type": "RollingUpdate",
                "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"},
            },
        },
    }


def service(isvc: Obj, name: str, selector: Mapping[str, str]) -> Obj:
    namespace, isvc_name = meta(isvc)
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "labels": {ISVC_LABEL: isvc_name},
            "ownerReferences": [owner_reference(isvc)],
        },
        "spec": {
            "selector": dict(selector),
            "ports": [{"name": "http", "port": 80, "targetPort": MODEL_PORT, "protocol": "TCP"}],
        },
    }


def revision_name(isvc_name: str, generation: int) -> str:
    return f"{isvc_name}-predictor-{generation:05d}"


def revision_deployment(
    isvc: Obj, generation: int, predictor: Mapping[str, Any], predictor_hash: str
) -> Obj:
    """Knative's `<revision>-deployment` for one revision of the predictor."""
    namespace, isvc_name = meta(isvc)
    revision = revision_name(isvc_name, generation)
    knative_service = f"{isvc_name}-predictor"
    labels = {
        "app": revision,
        ISVC_LABEL: isvc_name,
        COMPONENT_LABEL: "predictor",
        REVISION_LABEL: revision,
        KNATIVE_SERVICE_LABEL: knative_service,
        "serving.knative.dev/configuration": knative_service,
        CONFIGURATION_GENERATION: str(generation),
    }
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {
            "name": f"{revision}-deployment",
            "namespace": namespace,
            "labels": dict(labels),
            "annotations": {PREDICTOR_HASH: predictor_hash},
            "ownerReferences": [owner_reference(isvc)],
        },
        "spec": {
            "replicas": replicas_of(predictor),
            "selector": {"matchLabels": {REVISION_LABEL: revision}},
            "template": pod_template(isvc_name, predictor, labels),
        },
    }


def ingress(isvc: Obj, config: IngressConfig, stable_service: str) -> Obj:
    """Standard mode's Ingress `<isvc>`: the ISVC's and the predictor's hosts to the predictor."""
    namespace, name = meta(isvc)
    backend = {"service": {"name": stable_service, "port": {"number": 80}}}
    rules = [
        {
            "host": host,
            "http": {"paths": [{"path": "/", "pathType": "Prefix", "backend": backend}]},
        }
        for host in (config.host(name, namespace), config.host(f"{name}-predictor", namespace))
    ]
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "Ingress",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "labels": {ISVC_LABEL: name},
            "ownerReferences": [owner_reference(isvc)],
        },
        "spec": {"ingressClassName": config.ingress_class_name, "rules": rules},
    }


def http_route(
    isvc: Obj,
    config: IngressConfig,
    *,
    route_name: str,
    host: str,
    backends: Sequence[tuple[str, int | None]],
) -> Obj:
    """A KServe HTTPRoute on its Gateway: `backends` are (Service, weight or None)."""
    namespace, name = meta(isvc)
    gateway_ns, _, gateway_name = config.kserve_ingress_gateway.partition("/")
    refs: list[Obj] = []
    for service_name, weight in backends:
        ref: Obj = {"group": "", "kind": "Service", "name": service_name, "port": 80}
        if weight is not None:
            ref["weight"] = weight
        refs.append(ref)
    return {
        "apiVersion": "gateway.networking.k8s.io/v1",
        "kind": "HTTPRoute",
        "metadata": {
            "name": route_name,
            "namespace": namespace,
            "labels": {ISVC_LABEL: name},
            "ownerReferences": [owner_reference(isvc)],
        },
        "spec": {
            "hostnames": [host],
            "parentRefs": [
                {
                    "group": "gateway.networking.k8s.io",
                    "kind": "Gateway",
                    "name": gateway_name,
                    "namespace": gateway_ns,
                }
            ],
            "rules": [
                {
                    "matches": [{"path": {"type": "PathPrefix", "value": "/"}}],
                    "backendRefs": refs,
                    "timeouts": {"request": "60s"},
                }
            ],
        },
    }
