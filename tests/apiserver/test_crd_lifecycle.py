"""CustomResourceDefinitions changing while the server runs: updates take effect at once, and
deleting one removes its custom resources first and then stops serving the kind."""

from __future__ import annotations

from typing import Any

import requests
import yaml
from apiserver_manifests import widget_crd
from kubectl_harness import unique_name
from polling import wait_until

from sim.apiserver.server import APIServer

CRDS = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions"


def _install(api_server: APIServer, http: requests.Session) -> tuple[str, dict[str, Any]]:
    """Create a fresh CRD and wait until it is Established (its status is then written)."""
    group = f"{unique_name('crd')}.example.com"
    crd = yaml.safe_load(widget_crd(group, unique_name("w").replace("-", "")))
    created = http.post(api_server.url + CRDS, json=crd)
    assert created.status_code == 201, created.text
    name = created.json()["metadata"]["name"]

    def established() -> bool:
        status = http.get(f"{api_server.url}{CRDS}/{name}").json().get("status", {})
        return any(
            c["type"] == "Established" and c["status"] == "True"
            for c in status.get("conditions", [])
        )

    wait_until(established)
    return group, created.json()


def test_a_new_crd_is_established_and_served(
    api_server: APIServer, http: requests.Session, namespace: str
) -> None:
    group, crd = _install(api_server, http)
    status = http.get(f"{api_server.url}{CRDS}/{crd['metadata']['name']}").json()["status"]
    assert {c["type"] for c in status["conditions"]} == {"NamesAccepted", "Established"}
    assert status["acceptedNames"]["kind"] == "Widget"
    resources = http.get(f"{api_server.url}/apis/{group}/v1").json()["resources"]
    assert [r["name"] for r in resources] == ["widgets", "widgets/status"]


def test_a_crd_update_changes_validation_at_once(
    api_server: APIServer, http: requests.Session, namespace: str
) -> None:
    group, crd = _install(api_server, http)
    url = f"{api_server.url}/apis/{group}/v1/namespaces/{namespace}/widgets"
    widget: dict[str, Any] = {
        "apiVersion": f"{group}/v1",
        "kind": "Widget",
        "metadata": {"name": "w"},
        "spec": {"size": 1, "shape": "round"},
    }
    first = http.post(url, json=widget)
    assert first.status_code == 201
    assert "shape" not in first.json()["spec"]  # pruned: the schema does not declare it

    crd = http.get(f"{api_server.url}{CRDS}/{crd['metadata']['name']}").json()
    properties = crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]
    properties["spec"]["properties"]["shape"] = {"type": "string", "enum": ["round", "square"]}
    updated = http.put(f"{api_server.url}{CRDS}/{crd['metadata']['name']}", json=crd)
    assert updated.status_code == 200, updated.text

    widget["metadata"]["name"] = "w2"
    second = http.post(url, json=widget)
    assert second.status_code == 201
    assert second.json()["spec"]["shape"] == "round"
    widget["metadata"]["name"] = "w3"
    widget["spec"]["shape"] = "oval"
    refused = http.post(url, json=widget)
    assert refused.status_code == 422
    assert 'spec.shape: Unsupported value: "oval"' in refused.json()["message"]


def test_deleting_a_crd_deletes_its_objects_then_the_kind(
    api_server: APIServer, http: requests.Session, namespace: str
) -> None:
    group, crd = _install(api_server, http)
    name = crd["metadata"]["name"]
    url = f"{api_server.url}/apis/{group}/v1/namespaces/{namespace}/widgets"
    widget = {"apiVersion": f"{group}/v1", "kind": "Widget",
              "metadata": {"name": "held", "finalizers": ["example.com/hold"]},
              "spec": {"size": 1}}  # fmt: skip
    assert http.post(url, json=widget).status_code == 201

    deleted = http.delete(f"{api_server.url}{CRDS}/{name}")
    assert deleted.status_code == 200
    wait_until(lambda: bool(http.get(f"{url}/held").json()["metadata"].get("deletionTimestamp")))
    assert http.get(f"{api_server.url}{CRDS}/{name}").status_code == 200  # waits for it

    released = http.patch(
        f"{url}/held",
        data='{"metadata":{"finalizers":null}}',
        headers={"Content-Type": "application/merge-patch+json"},
    )
    assert released.status_code == 200
    wait_until(lambda: http.get(f"{api_server.url}{CRDS}/{name}").status_code == 404)
    assert http.get(url).status_code == 404
    groups = {g["name"] for g in http.get(f"{api_server.url}/apis").json()["groups"]}
    assert group not in groups
