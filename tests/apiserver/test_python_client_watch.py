"""The `kubernetes` client's watch against the local server: resumption and re-listing."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest
from apiserver_manifests import config_map
from kubernetes import client as k8s_client
from kubernetes import watch as k8s_watch
from kubernetes.client import ApiException
from polling import wait_until

from sim.apiserver.server import APIServer


def test_watch_resumes_from_its_last_resource_version_when_the_server_closes_it(
    api_server: APIServer, kube_api_client: k8s_client.ApiClient, namespace: str
) -> None:
    core: Any = k8s_client.CoreV1Api(kube_api_client)
    resource_version = core.list_namespaced_config_map(namespace).metadata.resource_version
    core.create_namespaced_config_map(namespace, config_map("before", namespace))

    def watches() -> int:
        return api_server.requests.count("watch", "configmaps", namespace=namespace)

    def write_after_reconnects() -> None:
        wait_until(lambda: watches() >= 3)
        core.create_namespaced_config_map(namespace, config_map("after", namespace))

    api_server.faults.watch_close_after = 0.2
    writer = threading.Thread(target=write_after_reconnects)
    writer.start()
    seen: list[tuple[str, str]] = []
    deadline = time.monotonic() + 20
    stream: Any = k8s_watch.Watch()  # type: ignore[no-untyped-call]
    try:
        for event in stream.stream(
            core.list_namespaced_config_map, namespace, resource_version=resource_version
        ):
            seen.append((event["type"], event["object"].metadata.name))
            if event["object"].metadata.name == "after" or time.monotonic() > deadline:
                stream.stop()
    finally:
        api_server.faults.watch_close_after = None
        writer.join(timeout=20)
    assert seen == [("ADDED", "before"), ("ADDED", "after")]
    assert watches() >= 3


def test_watch_from_a_compacted_resource_version_raises_410_and_a_relist_recovers(
    api_server: APIServer, kube_api_client: k8s_client.ApiClient, namespace: str
) -> None:
    core: Any = k8s_client.CoreV1Api(kube_api_client)
    old_version = core.list_namespaced_config_map(namespace).metadata.resource_version
    core.create_namespaced_config_map(namespace, config_map("a", namespace))
    api_server.compact_history()

    with pytest.raises(ApiException) as expired:
        watcher: Any = k8s_watch.Watch()  # type: ignore[no-untyped-call]
        for _ in watcher.stream(
            core.list_namespaced_config_map, namespace, resource_version=old_version
        ):
            pytest.fail("no event can come from a compacted resourceVersion")
    assert expired.value.status == 410
    assert "Expired: too old resource version" in str(expired.value.reason)

    listed = core.list_namespaced_config_map(namespace)
    assert [item.metadata.name for item in listed.items] == ["a"]
    core.create_namespaced_config_map(namespace, config_map("b", namespace))
    stream: Any = k8s_watch.Watch()  # type: ignore[no-untyped-call]
    for event in stream.stream(
        core.list_namespaced_config_map,
        namespace,
        resource_version=listed.metadata.resource_version,
        timeout_seconds=10,
    ):
        assert (event["type"], event["object"].metadata.name) == ("ADDED", "b")
        stream.stop()


def test_watch_resumes_after_the_server_ends_every_stream_at_once(
    api_server: APIServer, kube_api_client: k8s_client.ApiClient, namespace: str
) -> None:
    core: Any = k8s_client.CoreV1Api(kube_api_client)
    resource_version = core.list_namespaced_config_map(namespace).metadata.resource_version

    def watches() -> int:
        return api_server.requests.count("watch", "configmaps", namespace=namespace)

    def cut_then_write() -> None:
        wait_until(lambda: watches() >= 1)
        core.create_namespaced_config_map(namespace, config_map("first", namespace))
        assert api_server.close_watches() >= 1
        wait_until(lambda: watches() >= 2)  # the client came back on its own
        core.create_namespaced_config_map(namespace, config_map("second", namespace))

    writer = threading.Thread(target=cut_then_write)
    writer.start()
    seen: list[str] = []
    stream: Any = k8s_watch.Watch()  # type: ignore[no-untyped-call]
    try:
        for event in stream.stream(
            core.list_namespaced_config_map, namespace, resource_version=resource_version
        ):
            seen.append(event["object"].metadata.name)
            if len(seen) == 2:
                stream.stop()
    finally:
        writer.join(timeout=20)
    assert seen == ["first", "second"]
