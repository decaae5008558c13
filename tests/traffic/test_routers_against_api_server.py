"""Every router, through the kubernetes-client store, against the local API server over HTTP."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from kubernetes import client as k8s_client
from polling import wait_until
from traffic_cases import blank_weights, platform_http_route, platform_virtual_service

from reconcile.errors import APIAlreadyExists, APIConflict, APIInvalid, APINotFound
from reconcile.kube_store import KubeStore
from traffic.gateway_api import HTTP_ROUTE, GatewayApiRouter
from traffic.ingress_config import CONFIG_MAP, IngressConfig, read_ingress_config
from traffic.istio import VIRTUAL_SERVICE, IstioRouter
from traffic.kserve import INFERENCE_SERVICE, KServeRouter
from traffic.router import RouteWeights
from traffic.store import (
    AlreadyExists,
    Conflict,
    Invalid,
    JsonObject,
    NotFound,
    ObjectRef,
    PatchType,
)
from traffic.target import RouteTarget

STEPS = (0, 10, 50, 100)


class RecordingStore:
    """A store that counts the writes that reach the server and can let another client in."""

    def __init__(self, inner: KubeStore) -> None:
        self.inner = inner
        self.accepted = 0
        self.conflicts = 0
        self._before_next_write: list[Callable[[], object]] = []

    def interleave(self, writer: Callable[[], object]) -> None:
        self._before_next_write.append(writer)

    def get(self, ref: ObjectRef) -> JsonObject | None:
        return self.inner.get(ref)

    def create(self, ref: ObjectRef, obj: JsonObject) -> JsonObject:
        created: JsonObject = self._write(lambda: self.inner.create(ref, obj))
        return created

    def patch(
        self,
        ref: ObjectRef,
        patch: JsonObject | list[JsonObject],
        *,
        resource_version: str | None,
        patch_type: PatchType = PatchType.MERGE,
    ) -> JsonObject:
        patched: JsonObject = self._write(
            lambda: self.inner.patch(
                ref, patch, resource_version=resource_version, patch_type=patch_type
            )
        )
        return patched

    def delete(self, ref: ObjectRef) -> None:
        self._write(lambda: self.inner.delete(ref))

    def _write(self, call: Callable[[], Any]) -> Any:
        if self._before_next_write:
            self._before_next_write.pop(0)()
        try:
            result = call()
        except Conflict:
            self.conflicts += 1
            raise
        self.accepted += 1
        return result


@pytest.fixture
def kube_store(kube_api_client: k8s_client.ApiClient) -> KubeStore:
    return KubeStore(kube_api_client, request_timeout=10)


@pytest.fixture
def recording(kube_store: KubeStore) -> RecordingStore:
    return RecordingStore(kube_store)


def create_isvc(store: KubeStore, namespace: str, *, mode: str, **spec: Any) -> JsonObject:
    ref = ObjectRef(INFERENCE_SERVICE, namespace, "iris")
    model = {"modelFormat": {"name": "sklearn"}, "storageUri": "sim://iris/v1"}
    isvc = {
        "metadata": {
            "name": "iris",
            "namespace": namespace,
            "labels": {"networking.kserve.io/visibility": "cluster-local"},
            "annotations": {"serving.kserve.io/deploymentMode": mode},
        },
        "spec": {"predictor": {"model": model}, **spec},
    }
    return store.create(ref, isvc)


def target_for(isvc: JsonObject, **changes: Any) -> RouteTarget:
    meta = isvc["metadata"]
    values: dict[str, Any] = {
        "namespace": meta["namespace"],
        "isvc_name": meta["name"],
        "isvc_uid": meta["uid"],
        "hosts": (f"iris-{meta['namespace']}.example.com",),
        "gateways": ("knative-serving/knative-ingress-gateway",),
    }
    values.update(changes)
    return RouteTarget(**values)


def version(store: KubeStore, ref: ObjectRef) -> str:
    obj = store.get(ref)
    assert obj is not None
    return str(obj["metadata"]["resourceVersion"])


# --- the store itself ---------------------------------------------------------------------------


def test_the_kube_store_maps_server_answers_to_store_errors(
    kube_store: KubeStore, namespace: str
) -> None:
    ref = ObjectRef(VIRTUAL_SERVICE, namespace, "vs")
    assert kube_store.get(ref) is None
    with pytest.raises(APINotFound) as missing:
        kube_store.patch(ref, {"spec": {}}, resource_version=None)
    assert isinstance(missing.value, NotFound)
    with pytest.raises(NotFound):
        kube_store.delete(ref)

    created = kube_store.create(ref, {"spec": {"hosts": ["a.example.com"]}})
    assert created["metadata"]["uid"] and created["kind"] == "VirtualService"
    with pytest.raises(APIAlreadyExists) as exists:
        kube_store.create(ref, {"spec": {"hosts": ["a.example.com"]}})
    assert isinstance(exists.value, AlreadyExists) and not isinstance(exists.value, Conflict)

    stale = created["metadata"]["resourceVersion"]
    kube_store.patch(ref, {"spec": {"hosts": ["b.example.com"]}}, resource_version=stale)
    with pytest.raises(APIConflict) as merge_conflict:
        kube_store.patch(ref, {"spec": {"hosts": ["c.example.com"]}}, resource_version=stale)
    assert isinstance(merge_conflict.value, Conflict)
    with pytest.raises(Conflict):
        kube_store.patch(
            ref,
            [{"op": "replace", "path": "/spec/hosts", "value": ["d.example.com"]}],
            resource_version=stale,
            patch_type=PatchType.JSON,
        )
    current = kube_store.get(ref)
    assert current is not None and current["spec"]["hosts"] == ["b.example.com"]

    patched = kube_store.patch(
        ref,
        [{"op": "add", "path": "/spec/gateways", "value": ["mesh"]}],
        resource_version=current["metadata"]["resourceVersion"],
        patch_type=PatchType.JSON,
    )
    assert patched["spec"]["gateways"] == ["mesh"]
    kube_store.delete(ref)
    wait_until(lambda: kube_store.get(ref) is None)


def test_the_kube_store_reports_what_the_server_refuses_as_invalid(
    kube_store: KubeStore, namespace: str
) -> None:
    ref = ObjectRef(HTTP_ROUTE, namespace, "too-heavy")
    backend = {"name": "svc", "port": 80, "weight": 2_000_000}
    with pytest.raises(APIInvalid) as refused:
        kube_store.create(ref, {"spec": {"rules": [{"backendRefs": [backend]}]}})
    assert isinstance(refused.value, Invalid)
    assert "1000000" in str(refused.value)


# --- istio --------------------------------------------------------------------------------------


def test_istio_owned_route_steps_drifts_conflicts_and_hands_back(
    kube_store: KubeStore, recording: RecordingStore, namespace: str
) -> None:
    isvc = create_isvc(kube_store, namespace, mode="Standard")
    router = IstioRouter(recording, target_for(isvc))
    ref = ObjectRef(VIRTUAL_SERVICE, namespace, "iris-kcanary")

    assert router.ensure() is True
    route = kube_store.get(ref)
    assert route is not None
    assert route["metadata"]["ownerReferences"][0]["uid"] == isvc["metadata"]["uid"]
    assert route["spec"]["gateways"] == ["knative-serving/knative-ingress-gateway", "mesh"]

    for step in STEPS:
        router.set_weight(step)
        assert router.get_weight() == RouteWeights(step)
        assert router.verify_weight(step) is None
    assert recording.accepted == 4

    unchanged = version(kube_store, ref)
    assert router.set_weight(100) is False
    assert router.ensure() is False
    assert version(kube_store, ref) == unchanged and recording.accepted == 4

    kube_store.patch(
        ref,
        [{"op": "replace", "path": "/spec/http/0/route/0/weight", "value": 50}],
        resource_version=None,
        patch_type=PatchType.JSON,
    )
    drift = router.verify_weight(100)
    assert drift is not None and "stable 50, canary 100" in drift.message
    assert router.set_weight(100) is True
    assert router.verify_weight(100) is None

    recording.interleave(
        lambda: kube_store.patch(ref, {"metadata": {"labels": {"x": "y"}}}, resource_version=None)
    )
    assert router.set_weight(10) is True
    assert recording.conflicts == 1
    assert router.verify_weight(10) is None

    router.hand_back()
    wait_until(lambda: kube_store.get(ref) is None)


def test_istio_adoption_changes_only_the_two_weights_on_the_server(
    kube_store: KubeStore, recording: RecordingStore, namespace: str
) -> None:
    isvc = create_isvc(kube_store, namespace, mode="Standard")
    ref = ObjectRef(VIRTUAL_SERVICE, namespace, "iris-route")
    user_route = platform_virtual_service()
    user_route["metadata"]["namespace"] = namespace
    for http in user_route["spec"]["http"]:
        for destination in http["route"]:
            destination["destination"]["host"] = destination["destination"]["host"].replace(
                ".models", f".{namespace}"
            )
    original = kube_store.create(ref, user_route)
    router = IstioRouter(recording, target_for(isvc, adopted_route="iris-route"))

    for step in STEPS:
        router.set_weight(step)
        assert router.verify_weight(step) is None
        assert router.get_weight() == RouteWeights(step)
    after = kube_store.get(ref)
    assert after is not None
    places = [("spec", "http", i, "route", j) for i in (1, 2) for j in (0, 1)]
    before_rest, after_rest = blank_weights(original, places), blank_weights(after, places)
    for volatile in ("resourceVersion", "generation", "managedFields"):
        before_rest["metadata"].pop(volatile, None)
        after_rest["metadata"].pop(volatile, None)
    assert after_rest == before_rest
    assert [d["weight"] for d in after["spec"]["http"][2]["route"]] == [0, 80, 20]
    writes = recording.accepted
    router.set_weight(100)
    assert recording.accepted == writes


# --- gateway-api --------------------------------------------------------------------------------


def test_gateway_api_owned_and_adopted_routes_on_the_server(
    kube_store: KubeStore, recording: RecordingStore, namespace: str
) -> None:
    isvc = create_isvc(kube_store, namespace, mode="Standard")
    owned = GatewayApiRouter(
        recording, target_for(isvc, gateways=("kserve/kserve-ingress-gateway",))
    )
    owned_ref = ObjectRef(HTTP_ROUTE, namespace, "iris-kcanary")
    for step in STEPS:
        owned.set_weight(step)
        assert owned.verify_weight(step) is None
        assert owned.get_weight() == RouteWeights(step)
    assert recording.accepted == 4
    assert owned.set_weight(100) is False and recording.accepted == 4
    recording.interleave(
        lambda: kube_store.patch(
            owned_ref, {"metadata": {"labels": {"x": "y"}}}, resource_version=None
        )
    )
    owned.set_weight(50)
    assert recording.conflicts == 1 and owned.verify_weight(50) is None
    owned.hand_back()
    wait_until(lambda: kube_store.get(owned_ref) is None)

    adopted_ref = ObjectRef(HTTP_ROUTE, namespace, "iris-route")
    user_route = platform_http_route()
    user_route["metadata"]["namespace"] = namespace
    user_route["spec"]["rules"][2]["backendRefs"][1]["namespace"] = namespace
    original = kube_store.create(adopted_ref, user_route)
    adopted = GatewayApiRouter(recording, target_for(isvc, adopted_route="iris-route"))
    adopted.set_weight(10)
    after = kube_store.get(adopted_ref)
    assert after is not None
    assert [b["weight"] for b in after["spec"]["rules"][1]["backendRefs"]] == [90, 10, 100]
    assert [b["weight"] for b in after["spec"]["rules"][2]["backendRefs"]] == [900, 100]
    assert after["spec"]["rules"][0] == original["spec"]["rules"][0]
    for field in ("filters", "matches", "timeouts"):
        assert after["spec"]["rules"][1][field] == original["spec"]["rules"][1][field]
    adopted.hand_back()
    assert adopted.get_weight() == RouteWeights(100)


def test_owned_routes_go_with_the_inference_service(kube_store: KubeStore, namespace: str) -> None:
    isvc = create_isvc(kube_store, namespace, mode="Standard")
    IstioRouter(kube_store, target_for(isvc)).ensure()
    ref = ObjectRef(VIRTUAL_SERVICE, namespace, "iris-kcanary")
    assert kube_store.get(ref) is not None
    kube_store.delete(ObjectRef(INFERENCE_SERVICE, namespace, "iris"))
    wait_until(lambda: kube_store.get(ref) is None)


# --- kserve -------------------------------------------------------------------------------------


@pytest.fixture
def custom_objects(kube_api_client: k8s_client.ApiClient) -> Iterator[k8s_client.CustomObjectsApi]:
    yield k8s_client.CustomObjectsApi(kube_api_client)


def write_predictor_status(
    api: k8s_client.CustomObjectsApi, namespace: str, *, created: str, rolled_out: str
) -> None:
    """What KServe writes to the status subresource of a Serverless ISVC."""
    predictor = {
        "latestCreatedRevision": created,
        "latestReadyRevision": created,
        "latestRolledoutRevision": rolled_out,
        "traffic": [
            {"latestRevision": True, "percent": 100, "revisionName": created},
        ],
    }
    api.patch_namespaced_custom_object_status(
        "serving.kserve.io",
        "v1beta1",
        namespace,
        "inferenceservices",
        "iris",
        {"status": {"components": {"predictor": predictor}}},
        _content_type="application/merge-patch+json",
    )


def test_kserve_serverless_router_on_the_server(
    kube_store: KubeStore,
    recording: RecordingStore,
    namespace: str,
    custom_objects: k8s_client.CustomObjectsApi,
) -> None:
    isvc = create_isvc(kube_store, namespace, mode="Serverless")
    ref = ObjectRef(INFERENCE_SERVICE, namespace, "iris")
    router = KServeRouter(recording, target_for(isvc))
    assert router.ensure() is True
    for step in STEPS:
        router.set_weight(step)
        assert router.verify_weight(step) is None
        assert router.get_weight() == RouteWeights(step)
    assert recording.accepted == 4  # ensure wrote 0, so stepping to 0 wrote nothing
    unchanged = version(kube_store, ref)
    assert router.set_weight(100) is False
    assert version(kube_store, ref) == unchanged

    recording.interleave(
        lambda: kube_store.patch(ref, {"metadata": {"labels": {"x": "y"}}}, resource_version=None)
    )
    router.set_weight(10)
    assert recording.conflicts == 1 and router.verify_weight(10) is None

    write_predictor_status(
        custom_objects, namespace, created="iris-predictor-00002", rolled_out="iris-predictor-00001"
    )
    assert not router.promote().done
    assert router.get_weight() == RouteWeights(100)
    write_predictor_status(
        custom_objects, namespace, created="iris-predictor-00002", rolled_out="iris-predictor-00002"
    )
    assert router.promote().done
    assert router.get_weight() == RouteWeights(0)
    router.hand_back()
    assert router.get_weight() is None


def test_kserve_standard_canary_entry_on_the_server(
    kube_store: KubeStore, recording: RecordingStore, namespace: str
) -> None:
    canary = {
        "trafficPercent": 0,
        "predictor": {
            "name": "v2",
            "model": {"modelFormat": {"name": "sklearn"}, "storageUri": "sim://iris/v2"},
        },
    }
    isvc = create_isvc(kube_store, namespace, mode="Standard", canary=[canary])
    ref = ObjectRef(INFERENCE_SERVICE, namespace, "iris")
    router = KServeRouter(recording, target_for(isvc))
    for step in STEPS:
        router.set_weight(step)
        assert router.verify_weight(step) is None
    assert recording.accepted == 3
    assert router.promote().done
    promoted = kube_store.get(ref)
    assert promoted is not None
    assert "canary" not in promoted["spec"]
    assert promoted["spec"]["predictor"]["name"] == "v2"
    assert promoted["spec"]["predictor"]["model"]["storageUri"] == "sim://iris/v2"


def test_creating_in_a_missing_namespace_says_what_is_missing(kube_store: KubeStore) -> None:
    ref = ObjectRef(VIRTUAL_SERVICE, "no-such-namespace-kcanary", "vs")
    with pytest.raises(APINotFound, match="no namespace 'no-such-namespace-kcanary'"):
        kube_store.create(ref, {"spec": {}})


def test_kserves_ingress_settings_are_read_from_its_configmap(
    kube_store: KubeStore, namespace: str
) -> None:
    assert read_ingress_config(kube_store, namespace) == IngressConfig()
    ingress = '{"ingressDomain": "ml.corp.net", "kserveIngressGateway": "gw/edge"}'
    kube_store.create(
        ObjectRef(CONFIG_MAP, namespace, "inferenceservice-config"),
        {"data": {"ingress": ingress}},
    )
    config = read_ingress_config(kube_store, namespace)
    assert config.public_hosts("iris", namespace) == (f"iris-{namespace}.ml.corp.net",)
    assert config.kserve_ingress_gateway == "gw/edge"
