"""Built-in kinds: the real names, and schemas strict enough to catch misspellings."""

from __future__ import annotations

from typing import Any

from sim.apiserver.builtin_kinds import BUILTIN_TYPES
from sim.apiserver.resources import ResourceType
from sim.apiserver.schema import apply_defaults, prune, validate


def _kind(group: str, plural: str) -> ResourceType:
    return next(t for t in BUILTIN_TYPES if t.group == group and t.plural == plural)


def test_names_scopes_and_short_names_are_the_real_ones() -> None:
    summary = {
        (t.group, t.version, t.plural): (t.kind, t.namespaced, t.short_names) for t in BUILTIN_TYPES
    }
    assert summary == {
        ("", "v1", "namespaces"): ("Namespace", False, ("ns",)),
        ("", "v1", "configmaps"): ("ConfigMap", True, ("cm",)),
        ("", "v1", "secrets"): ("Secret", True, ()),
        ("", "v1", "services"): ("Service", True, ("svc",)),
        ("", "v1", "events"): ("Event", True, ("ev",)),
        ("events.k8s.io", "v1", "events"): ("Event", True, ("ev",)),
        ("apps", "v1", "deployments"): ("Deployment", True, ("deploy",)),
        ("networking.k8s.io", "v1", "ingresses"): ("Ingress", True, ("ing",)),
        ("coordination.k8s.io", "v1", "leases"): ("Lease", True, ()),
        ("apiextensions.k8s.io", "v1", "customresourcedefinitions"): (
            "CustomResourceDefinition",
            False,
            ("crd", "crds"),
        ),
    }
    assert _kind("apps", "deployments").categories == ("all",)
    assert _kind("apps", "deployments").scale is not None
    assert _kind("", "namespaces").has_status


def _deployment() -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "namespace": "d", "labels": {"app": "web"}},
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {
                "metadata": {"labels": {"app": "web"}, "creationTimestamp": None},
                "spec": {
                    "serviceAccountName": "sa",
                    "containers": [{"name": "c", "image": "i", "resources": {"limits": {}}}],
                },
            },
        },
    }


def test_a_real_deployment_manifest_loses_nothing_to_pruning() -> None:
    rtype = _kind("apps", "deployments")
    obj = _deployment()
    assert prune(obj, rtype.schema) == (obj, [])
    assert validate(apply_defaults(obj, rtype.schema), rtype.schema) == []


def test_misspelled_deployment_fields_are_found() -> None:
    rtype = _kind("apps", "deployments")
    obj = _deployment()
    obj["spec"]["replica"] = 3
    obj["spec"]["template"]["metdata"] = {}
    obj["metadata"]["lables"] = {}
    _, removed = prune(obj, rtype.schema)
    assert sorted(removed) == ["metadata.lables", "spec.replica", "spec.template.metdata"]


def test_deployment_defaults_are_the_real_ones() -> None:
    rtype = _kind("apps", "deployments")
    obj = _deployment()
    del obj["spec"]["replicas"]
    spec = apply_defaults(obj, rtype.schema)["spec"]
    assert spec["replicas"] == 1
    assert spec["revisionHistoryLimit"] == 10
    assert spec["progressDeadlineSeconds"] == 600
    assert spec["strategy"]["rollingUpdate"] == {"maxUnavailable": "25%", "maxSurge": "25%"}
    assert (
        "creationTimestamp" not in apply_defaults(obj, rtype.schema)["spec"]["template"]["metadata"]
    )


def test_configmap_with_misspelled_data_is_caught() -> None:
    rtype = _kind("", "configmaps")
    obj = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "dat": {"a": "b"}}
    assert prune(obj, rtype.schema)[1] == ["dat"]
    assert validate({"data": {"a": 1}}, rtype.schema)[0].field == "data.a"


def test_lease_and_event_times() -> None:
    lease = _kind("coordination.k8s.io", "leases")
    obj = {"spec": {"holderIdentity": "me", "renewTime": "2026-01-02T03:04:05.123456Z"}}
    assert validate(obj, lease.schema) == []
    events = _kind("events.k8s.io", "events")
    assert [c.field for c in validate({"note": "x"}, events.schema)] == ["eventTime"]
