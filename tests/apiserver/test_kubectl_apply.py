"""`kubectl apply` against the local server: create, update, validation, CRDs."""

from __future__ import annotations

import json
from typing import Any

from apiserver_manifests import isvc, widget, widget_crd
from kubectl_harness import REPO_ROOT, Kubectl, unique_name
from kubernetes import client as k8s_client


def test_apply_creates_then_updates_an_inference_service(
    kubectl: Kubectl, namespace: str, kube_api_client: k8s_client.ApiClient
) -> None:
    name = unique_name("iris")
    created = kubectl.run("apply", "-f", "-", input=isvc(name, namespace))
    assert f"inferenceservice.serving.kserve.io/{name} created" in created.stdout

    updated = kubectl.run(
        "apply", "-f", "-", input=isvc(name, namespace, storage_uri="s3://models/iris/v2")
    )
    assert f"inferenceservice.serving.kserve.io/{name} configured" in updated.stdout

    stored: Any = k8s_client.CustomObjectsApi(kube_api_client).get_namespaced_custom_object(
        "serving.kserve.io", "v1beta1", namespace, "inferenceservices", name
    )
    assert stored["spec"]["predictor"]["model"]["storageUri"] == "s3://models/iris/v2"
    assert stored["metadata"]["generation"] == 2
    assert "kubectl.kubernetes.io/last-applied-configuration" in stored["metadata"]["annotations"]

    unchanged = kubectl.run(
        "apply", "-f", "-", input=isvc(name, namespace, storage_uri="s3://models/iris/v2")
    )
    assert f"inferenceservice.serving.kserve.io/{name} unchanged" in unchanged.stdout


def test_apply_of_a_misspelled_field_fails_with_the_strict_decoding_error(
    kubectl: Kubectl, namespace: str
) -> None:
    name = unique_name("iris")
    manifest = isvc(name, namespace).replace("spec:", "spce:")
    failed = kubectl.run("apply", "-f", "-", input=manifest, check=False)
    assert failed.returncode != 0
    assert 'strict decoding error: unknown field "spce"' in failed.stderr
    assert "(BadRequest)" in failed.stderr
    missing = kubectl.run("get", "isvc", name, "-n", namespace, check=False)
    assert "NotFound" in missing.stderr


def test_apply_of_a_misspelled_field_in_an_update_fails_too(
    kubectl: Kubectl, namespace: str
) -> None:
    name = unique_name("iris")
    kubectl.run("apply", "-f", "-", input=isvc(name, namespace))
    manifest = isvc(name, namespace).replace("  annotations:", "  labelz: {a: b}\n  annotations:")
    failed = kubectl.run("apply", "-f", "-", input=manifest, check=False)
    assert failed.returncode != 0
    assert 'strict decoding error: unknown field "metadata.labelz"' in failed.stderr


def test_apply_of_the_projects_crds_succeeds(kubectl: Kubectl) -> None:
    applied = kubectl.run("apply", "-f", str(REPO_ROOT / "deploy" / "crds"))
    assert "customresourcedefinition.apiextensions.k8s.io/inferencerollouts.kcanary.io" in (
        applied.stdout
    )
    applied = kubectl.run("apply", "-f", str(REPO_ROOT / "sim" / "crds"))
    assert "inferenceservices.serving.kserve.io" in applied.stdout


def test_a_crd_created_at_run_time_is_served_at_once(kubectl: Kubectl, namespace: str) -> None:
    group = f"{unique_name('g')}.example.com"
    short_name = unique_name("wdg").replace("-", "")
    kubectl.run("apply", "-f", "-", input=widget_crd(group, short_name))
    kubectl.run("wait", "--for", "condition=established", "--timeout=20s", f"crd/widgets.{group}")

    created = kubectl.run("apply", "-f", "-", input=widget(group, "w1", namespace, size=7))
    assert f"widget.{group}/w1 created" in created.stdout
    table = kubectl.run("get", f"widgets.{group}", "-n", namespace)
    header, row = table.stdout.splitlines()[:2]
    assert header.split() == ["NAME", "SIZE", "COLOR"]
    assert row.split() == ["w1", "7", "red"]

    short = kubectl.run("get", short_name, "-n", namespace, "-o", "json")
    assert [item["metadata"]["name"] for item in json.loads(short.stdout)["items"]] == ["w1"]

    invalid = kubectl.run(
        "apply", "-f", "-", input=widget(group, "w2", namespace, size=0), check=False
    )
    assert invalid.returncode != 0
    assert (
        "spec.size: Invalid value: 0: spec.size in body should be greater than or equal to 1"
        in (invalid.stderr)
    )
