"""The built-in kinds the local API server serves, as a real 1.3x server presents them.

Names, short names, categories, verbs, subresources and field selectors are the real ones.
Printer columns follow what `kubectl get` shows; several of those columns combine fields (a
Deployment's READY is `ready/desired`, a Service's PORT(S) is `80/TCP,443/TCP`), which a JSONPath
cannot express, so those columns carry a small `cell` function (see `PrinterColumn.cell`) and
their `json_path` only says where the data comes from.
"""

from __future__ import annotations

from typing import Any

from sim.apiserver import builtin_schemas as schemas
from sim.apiserver.resources import PrinterColumn, ResourceType

_AGE = PrinterColumn("Age", "date", ".metadata.creationTimestamp")
_NO_DELETECOLLECTION = ("create", "delete", "get", "list", "patch", "update", "watch")


def _get(obj: dict[str, Any], *path: str) -> Any:
    node: Any = obj
    for key in path:
        node = node.get(key) if isinstance(node, dict) else None
    return node


def _count(value: Any) -> int:
    return len(value) if isinstance(value, dict | list) else 0


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _selector_text(labels: Any) -> str:
    if not isinstance(labels, dict) or not labels:
        return "<none>"
    return ",".join(f"{key}={value}" for key, value in sorted(labels.items()))


# ---- Service ----------------------------------------------------------------------------------


def _service_type(svc: dict[str, Any]) -> str:
    return str(_get(svc, "spec", "type") or "ClusterIP")


def _service_external_ip(svc: dict[str, Any]) -> str:
    kind = _service_type(svc)
    external = list(_get(svc, "spec", "externalIPs") or [])
    if kind == "ExternalName":
        return str(_get(svc, "spec", "externalName") or "<none>")
    if kind == "LoadBalancer":
        points = _get(svc, "status", "loadBalancer", "ingress") or []
        found = [p.get("ip") or p.get("hostname") for p in points if isinstance(p, dict)]
        found = [str(p) for p in found if p] + external
        return ",".join(found) if found else "<pending>"
    return ",".join(external) if external else "<none>"


def _service_ports(svc: dict[str, Any]) -> str:
    ports = _get(svc, "spec", "ports") or []
    parts = []
    for port in ports:
        if not isinstance(port, dict):
            continue
        protocol = port.get("protocol") or "TCP"
        node = f":{port['nodePort']}" if port.get("nodePort") else ""
        parts.append(f"{port.get('port')}{node}/{protocol}")
    return ",".join(parts) if parts else "<none>"


# ---- Deployment -------------------------------------------------------------------------------


def _deployment_ready(deploy: dict[str, Any]) -> str:
    desired = _get(deploy, "spec", "replicas")
    desired = 1 if desired is None else _int(desired)
    return f"{_int(_get(deploy, 'status', 'readyReplicas'))}/{desired}"


def _containers(deploy: dict[str, Any], field: str) -> str:
    containers = _get(deploy, "spec", "template", "spec", "containers") or []
    return ",".join(str(c.get(field, "")) for c in containers if isinstance(c, dict))


def _deployment_selector(deploy: dict[str, Any]) -> str:
    selector = _get(deploy, "spec", "selector") or {}
    parts = [f"{k}={v}" for k, v in sorted((selector.get("matchLabels") or {}).items())]
    for expression in selector.get("matchExpressions") or []:
        values = ",".join(expression.get("values") or [])
        operator = str(expression.get("operator", "")).lower()
        key = expression.get("key", "")
        if operator == "exists":
            parts.append(key)
        elif operator == "doesnotexist":
            parts.append(f"!{key}")
        else:
            parts.append(f"{key} {operator} ({values})")
    return ",".join(parts) if parts else "<none>"


# ---- Ingress ----------------------------------------------------------------------------------


def _ingress_hosts(ing: dict[str, Any]) -> str:
    rules = _get(ing, "spec", "rules") or []
    hosts = [str(r["host"]) for r in rules if isinstance(r, dict) and r.get("host")]
    return ",".join(hosts) if hosts else "*"


def _ingress_address(ing: dict[str, Any]) -> str:
    points = _get(ing, "status", "loadBalancer", "ingress") or []
    found = [str(p.get("ip") or p.get("hostname")) for p in points if isinstance(p, dict)]
    return ",".join(f for f in found if f and f != "None")


def _ingress_ports(ing: dict[str, Any]) -> str:
    return "80, 443" if _get(ing, "spec", "tls") else "80"


# ---- Event (both API groups share one printer, as on a real server) ---------------------------


def _event_object(event: dict[str, Any]) -> str:
    target = event.get("involvedObject") or event.get("regarding") or {}
    return f"{str(target.get('kind', '')).lower()}/{target.get('name', '')}"


def _event_last_seen(event: dict[str, Any]) -> Any:
    series = event.get("series") or {}
    return (
        series.get("lastObservedTime")
        or event.get("lastTimestamp")
        or event.get("deprecatedLastTimestamp")
        or event.get("eventTime")
    )


def _event_first_seen(event: dict[str, Any]) -> Any:
    return (
        event.get("firstTimestamp")
        or event.get("deprecatedFirstTimestamp")
        or event.get("eventTime")
    )


def _event_source(event: dict[str, Any]) -> str:
    source = event.get("source") or event.get("deprecatedSource") or {}
    component = (
        source.get("component")
        or event.get("reportingComponent")
        or event.get("reportingController", "")
    )
    host = source.get("host") or event.get("reportingInstance") or ""
    return f"{component}, {host}" if host else str(component)


def _event_count(event: dict[str, Any]) -> int:
    series = event.get("series") or {}
    return _int(series.get("count") or event.get("count") or event.get("deprecatedCount") or 1)


_EVENT_COLUMNS = (
    PrinterColumn("Last Seen", "date", ".lastTimestamp", cell=_event_last_seen),
    PrinterColumn("Type", "string", ".type"),
    PrinterColumn("Reason", "string", ".reason"),
    PrinterColumn("Object", "string", ".involvedObject", cell=_event_object),
    PrinterColumn(
        "Subobject",
        "string",
        ".involvedObject.fieldPath",
        priority=1,
        cell=lambda e: (e.get("involvedObject") or e.get("regarding") or {}).get("fieldPath", ""),
    ),
    PrinterColumn("Source", "string", ".source", priority=1, cell=_event_source),
    PrinterColumn("Message", "string", ".message", cell=lambda e: e.get("message", e.get("note"))),
    PrinterColumn("First Seen", "date", ".firstTimestamp", priority=1, cell=_event_first_seen),
    PrinterColumn("Count", "integer", ".count", priority=1, cell=_event_count),
    PrinterColumn("Name", "string", ".metadata.name", priority=1, format="name"),
)

_CORE_EVENT_FIELDS = (
    "metadata.name", "metadata.namespace", "involvedObject.kind", "involvedObject.namespace",
    "involvedObject.name", "involvedObject.uid", "involvedObject.apiVersion",
    "involvedObject.resourceVersion", "involvedObject.fieldPath", "reason", "reportingComponent",
    "source", "type",
)  # fmt: skip

_EVENTS_V1_FIELDS = (
    "metadata.name", "metadata.namespace", "regarding.kind", "regarding.namespace",
    "regarding.name", "regarding.uid", "regarding.apiVersion", "regarding.resourceVersion",
    "regarding.fieldPath", "reason", "reportingController", "type",
)  # fmt: skip


BUILTIN_TYPES: tuple[ResourceType, ...] = (
    ResourceType(
        group="", version="v1", kind="Namespace", plural="namespaces", singular="namespace",
        namespaced=False, list_kind="NamespaceList", short_names=("ns",),
        verbs=_NO_DELETECOLLECTION, schema=schemas.NAMESPACE, has_status=True,
        printer_columns=(PrinterColumn("Status", "string", ".status.phase"), _AGE),
        field_selectors=("metadata.name", "status.phase"), name_format="label",
    ),
    ResourceType(
        group="", version="v1", kind="ConfigMap", plural="configmaps", singular="configmap",
        namespaced=True, list_kind="ConfigMapList", short_names=("cm",),
        schema=schemas.CONFIG_MAP,
        printer_columns=(
            PrinterColumn(
                "Data", "integer", ".data",
                cell=lambda cm: _count(cm.get("data")) + _count(cm.get("binaryData")),
            ),
            _AGE,
        ),
    ),
    ResourceType(
        group="", version="v1", kind="Secret", plural="secrets", singular="secret",
        namespaced=True, list_kind="SecretList", schema=schemas.SECRET,
        printer_columns=(
            PrinterColumn("Type", "string", ".type"),
            PrinterColumn("Data", "integer", ".data", cell=lambda s: _count(s.get("data"))),
            _AGE,
        ),
        field_selectors=("metadata.name", "metadata.namespace", "type"),
    ),
    ResourceType(
        group="", version="v1", kind="Service", plural="services", singular="service",
        namespaced=True, list_kind="ServiceList", short_names=("svc",), categories=("all",),
        verbs=_NO_DELETECOLLECTION, schema=schemas.SERVICE, has_status=True,
        printer_columns=(
            PrinterColumn("Type", "string", ".spec.type", cell=_service_type),
            PrinterColumn(
                "Cluster-IP", "string", ".spec.clusterIP",
                cell=lambda s: _get(s, "spec", "clusterIP") or "<none>",
            ),
            PrinterColumn("External-IP", "string", ".spec.externalIPs", cell=_service_external_ip),
            PrinterColumn("Port(s)", "string", ".spec.ports", cell=_service_ports),
            _AGE,
            PrinterColumn(
                "Selector", "string", ".spec.selector", priority=1,
                cell=lambda s: _selector_text(_get(s, "spec", "selector")),
            ),
        ),
        field_selectors=("metadata.name", "metadata.namespace", "spec.clusterIP", "spec.type"),
        name_format="dns1035",
    ),
    ResourceType(
        group="", version="v1", kind="Event", plural="events", singular="event",
        namespaced=True, list_kind="EventList", short_names=("ev",),
        schema=schemas.CORE_EVENT, printer_columns=_EVENT_COLUMNS,
        field_selectors=_CORE_EVENT_FIELDS,
        extra={"field_selector_paths": {"source": "source.component"}},
    ),
    ResourceType(
        group="events.k8s.io", version="v1", kind="Event", plural="events", singular="event",
        namespaced=True, list_kind="EventList", short_names=("ev",),
        schema=schemas.EVENTS_V1_EVENT, printer_columns=_EVENT_COLUMNS,
        field_selectors=_EVENTS_V1_FIELDS,
    ),
    ResourceType(
        group="apps", version="v1", kind="Deployment", plural="deployments",
        singular="deployment", namespaced=True, list_kind="DeploymentList",
        short_names=("deploy",), categories=("all",), schema=schemas.DEPLOYMENT,
        has_status=True,
        scale={"specReplicasPath": ".spec.replicas", "statusReplicasPath": ".status.replicas"},
        printer_columns=(
            PrinterColumn("Ready", "string", ".status.readyReplicas", cell=_deployment_ready),
            PrinterColumn(
                "Up-to-date", "integer", ".status.updatedReplicas",
                cell=lambda d: _int(_get(d, "status", "updatedReplicas")),
            ),
            PrinterColumn(
                "Available", "integer", ".status.availableReplicas",
                cell=lambda d: _int(_get(d, "status", "availableReplicas")),
            ),
            _AGE,
            PrinterColumn(
                "Containers", "string", ".spec.template.spec.containers[*].name", priority=1,
                cell=lambda d: _containers(d, "name"),
            ),
            PrinterColumn(
                "Images", "string", ".spec.template.spec.containers[*].image", priority=1,
                cell=lambda d: _containers(d, "image"),
            ),
            PrinterColumn(
                "Selector", "string", ".spec.selector", priority=1, cell=_deployment_selector
            ),
        ),
    ),
    ResourceType(
        group="networking.k8s.io", version="v1", kind="Ingress", plural="ingresses",
        singular="ingress", namespaced=True, list_kind="IngressList", short_names=("ing",),
        schema=schemas.INGRESS, has_status=True,
        printer_columns=(
            PrinterColumn(
                "Class", "string", ".spec.ingressClassName",
                cell=lambda i: _get(i, "spec", "ingressClassName") or "<none>",
            ),
            PrinterColumn("Hosts", "string", ".spec.rules[*].host", cell=_ingress_hosts),
            PrinterColumn("Address", "string", ".status.loadBalancer", cell=_ingress_address),
            PrinterColumn("Ports", "string", ".spec.tls", cell=_ingress_ports),
            _AGE,
        ),
    ),
    ResourceType(
        group="coordination.k8s.io", version="v1", kind="Lease", plural="leases",
        singular="lease", namespaced=True, list_kind="LeaseList", schema=schemas.LEASE,
        printer_columns=(PrinterColumn("Holder", "string", ".spec.holderIdentity"), _AGE),
    ),
    ResourceType(
        group="apiextensions.k8s.io", version="v1", kind="CustomResourceDefinition",
        plural="customresourcedefinitions", singular="customresourcedefinition",
        namespaced=False, list_kind="CustomResourceDefinitionList",
        short_names=("crd", "crds"), schema=schemas.CUSTOM_RESOURCE_DEFINITION,
        has_status=True,
        # The real column is typed `date` but shows the timestamp itself, not an age.
        printer_columns=(
            PrinterColumn("Created At", "string", ".metadata.creationTimestamp", format="date"),
        ),
        field_selectors=("metadata.name",),
    ),
)  # fmt: skip
