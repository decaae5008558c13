"""The informers' list and watch over the client: objects with their kind, events in order, 410
Gone as our APIGone (so the informer lists again), and a stream that `close` ends at once."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from kubernetes import client as k8s_client

from reconcile.errors import APIGone
from reconcile.informer import Informer, WatchEvent
from reconcile.kube_listwatch import KubeListWatch
from reconcile.resources import INFERENCE_SERVICE
from sim.apiserver.server import APIServer

GROUP, VERSION, PLURAL = "serving.kserve.io", "v1beta1", "inferenceservices"


def isvc(name: str) -> dict[str, Any]:
    return {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "InferenceService",
        "metadata": {"name": name},
        "spec": {"predictor": {"model": {"modelFormat": {"name": "sklearn"}}}},
    }


@pytest.fixture
def custom_api(kube_api_client: k8s_client.ApiClient) -> k8s_client.CustomObjectsApi:
    return k8s_client.CustomObjectsApi(kube_api_client)


def next_event(events: Iterator[WatchEvent]) -> WatchEvent:
    while True:
        event = next(events)
        if event.type != "BOOKMARK":
            return event


def test_list_then_watch_sees_objects_with_their_kind_in_order(
    kube_api_client: k8s_client.ApiClient, custom_api: k8s_client.CustomObjectsApi, namespace: str
) -> None:
    custom_api.create_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, isvc("a"))
    source = KubeListWatch(kube_api_client, INFERENCE_SERVICE, namespace=namespace)
    items, version = source.list()
    assert [item["metadata"]["name"] for item in items] == ["a"]
    assert items[0]["kind"] == "InferenceService" and items[0]["apiVersion"] == f"{GROUP}/{VERSION}"
    events = source.watch(version, timeout_s=10)
    try:
        custom_api.create_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, isvc("b"))
        custom_api.delete_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, "a")
        seen = [next_event(events), next_event(events)]
        assert [(e.type, e.object["metadata"]["name"]) for e in seen] == [
            ("ADDED", "b"),
            ("DELETED", "a"),
        ]
    finally:
        source.close()


def test_a_compacted_history_is_api_gone(
    api_server: APIServer,
    kube_api_client: k8s_client.ApiClient,
    custom_api: k8s_client.CustomObjectsApi,
    namespace: str,
) -> None:
    source = KubeListWatch(kube_api_client, INFERENCE_SERVICE, namespace=namespace)
    _, version = source.list()
    for name in ("c", "d"):
        custom_api.create_namespaced_custom_object(GROUP, VERSION, namespace, PLURAL, isvc(name))
    api_server.compact_history()
    try:
        with pytest.raises(APIGone):
            for _ in source.watch(version, timeout_s=5):
                pass
    finally:
        source.close()


def test_close_ends_a_waiting_watch_and_the_informer_stops_promptly(
    kube_api_client: k8s_client.ApiClient, namespace: str
) -> None:
    source = KubeListWatch(kube_api_client, INFERENCE_SERVICE, namespace=namespace)
    informer = Informer(source, lambda kind, obj: None, name="t", watch_timeout_s=300)
    informer.start()
    try:
        assert informer.wait_for_sync(10)
    except AssertionError:
        informer.stop()
        source.close()
        raise
    deadline = time.monotonic() + 5
    while informer.watches == 0:  # the informer is now blocked in a 300 s watch
        assert time.monotonic() < deadline
        time.sleep(0.01)
    started = time.monotonic()
    informer.stop()
    source.close()
    informer.join(10)
    assert time.monotonic() - started < 5
    assert not any(t.name == "informer-t" and t.is_alive() for t in threading.enumerate())
