"""Leases and Events, the built-in kinds a controller writes, through the Python client."""

from __future__ import annotations

import datetime
import re
from typing import Any

import requests
from kubernetes import client as k8s_client

from sim.apiserver.server import APIServer

MICRO_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")
TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")


def test_a_lease_is_created_and_renewed_with_micro_time(
    api_server: APIServer,
    kube_api_client: k8s_client.ApiClient,
    http: requests.Session,
    namespace: str,
) -> None:
    coordination: Any = k8s_client.CoordinationV1Api(kube_api_client)
    acquired = datetime.datetime.now(datetime.UTC)
    lease = k8s_client.V1Lease(
        metadata=k8s_client.V1ObjectMeta(name="leader"),
        spec=k8s_client.V1LeaseSpec(
            holder_identity="pod-a",
            lease_duration_seconds=15,
            acquire_time=acquired,
            renew_time=acquired,
            lease_transitions=0,
        ),
    )
    created = coordination.create_namespaced_lease(namespace, lease)
    assert created.spec.holder_identity == "pod-a"

    renewed_at = acquired + datetime.timedelta(seconds=2, microseconds=123456)
    created.spec.renew_time = renewed_at
    renewed = coordination.replace_namespaced_lease("leader", namespace, created)
    assert renewed.spec.renew_time == renewed_at
    assert int(renewed.metadata.resource_version) > int(created.metadata.resource_version)

    raw = http.get(
        f"{api_server.url}/apis/coordination.k8s.io/v1/namespaces/{namespace}/leases/leader"
    ).json()
    assert MICRO_TIME.match(raw["spec"]["acquireTime"])
    assert MICRO_TIME.match(raw["spec"]["renewTime"])
    assert raw["spec"]["renewTime"].endswith(f".{renewed_at.microsecond:06d}Z")

    stale = created  # still carries the resourceVersion from before the renewal
    stale.spec.holder_identity = "pod-b"
    try:
        coordination.replace_namespaced_lease("leader", namespace, stale)
    except k8s_client.ApiException as error:
        assert error.status == 409
    else:
        raise AssertionError("a stale lease update must conflict")


def test_an_event_is_created_and_patched_with_strategic_merge(
    api_server: APIServer,
    kube_api_client: k8s_client.ApiClient,
    http: requests.Session,
    namespace: str,
) -> None:
    core: Any = k8s_client.CoreV1Api(kube_api_client)
    now = datetime.datetime.now(datetime.UTC)
    event = k8s_client.CoreV1Event(
        metadata=k8s_client.V1ObjectMeta(name="iris.1"),
        involved_object=k8s_client.V1ObjectReference(
            api_version="serving.kserve.io/v1beta1",
            kind="InferenceService",
            name="iris",
            namespace=namespace,
        ),
        reason="Progressing",
        message="canary at 10%",
        type="Normal",
        source=k8s_client.V1EventSource(component="kcanary"),
        count=1,
        first_timestamp=now,
        last_timestamp=now,
        event_time=now,
        reporting_component="kcanary",
        reporting_instance="kcanary-0",
        action="SetWeight",
    )
    core.create_namespaced_event(namespace, event)
    later = now + datetime.timedelta(seconds=30)
    api_server.requests.reset()
    patched = core.patch_namespaced_event(
        "iris.1", namespace, {"count": 2, "lastTimestamp": later.isoformat()}
    )
    assert patched.count == 2
    assert api_server.requests.count("patch", "events") == 1

    raw = http.get(f"{api_server.url}/api/v1/namespaces/{namespace}/events/iris.1").json()
    assert MICRO_TIME.match(raw["eventTime"])
    assert TIME.match(raw["lastTimestamp"])
    assert raw["count"] == 2

    by_reason = core.list_namespaced_event(namespace, field_selector="reason=Progressing")
    assert [item.metadata.name for item in by_reason.items] == ["iris.1"]
    by_object = core.list_namespaced_event(
        namespace, field_selector="involvedObject.kind=InferenceService,involvedObject.name=iris"
    )
    assert len(by_object.items) == 1
    none = core.list_namespaced_event(namespace, field_selector="involvedObject.name=other")
    assert none.items == []


def test_strategic_merge_patch_of_an_event_is_accepted_as_such(
    api_server: APIServer, http: requests.Session, namespace: str
) -> None:
    base = f"{api_server.url}/api/v1/namespaces/{namespace}/events"
    created = http.post(
        base,
        json={
            "apiVersion": "v1",
            "kind": "Event",
            "metadata": {"name": "e.1"},
            "involvedObject": {"kind": "ConfigMap", "name": "x", "namespace": namespace},
            "reason": "Created",
            "message": "first",
            "type": "Normal",
        },
    )
    assert created.status_code == 201, created.text
    patched = http.patch(
        f"{base}/e.1",
        data='{"message":"second","count":3}',
        headers={"Content-Type": "application/strategic-merge-patch+json"},
    )
    assert patched.status_code == 200, patched.text
    assert (patched.json()["message"], patched.json()["count"]) == ("second", 3)
