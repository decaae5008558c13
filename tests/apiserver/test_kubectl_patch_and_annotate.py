"""`kubectl annotate` and `kubectl patch` on custom resources."""

from __future__ import annotations

import json

from apiserver_manifests import isvc
from kubectl_harness import Kubectl, unique_name


def _isvc_json(kubectl: Kubectl, name: str, namespace: str) -> dict[str, object]:
    fetched = kubectl.run("get", "isvc", name, "-n", namespace, "-o", "json")
    document: dict[str, object] = json.loads(fetched.stdout)
    return document


def test_annotate_sets_an_annotation(kubectl: Kubectl, namespace: str) -> None:
    name = unique_name("iris")
    kubectl.run("apply", "-f", "-", input=isvc(name, namespace))
    kubectl.run("annotate", "isvc", name, "-n", namespace, "kcanary.io/action=promote")
    metadata = _isvc_json(kubectl, name, namespace)["metadata"]
    assert isinstance(metadata, dict)
    assert metadata["annotations"]["kcanary.io/action"] == "promote"
    assert metadata["generation"] == 1  # metadata changes leave generation alone


def test_annotate_with_a_stale_resource_version_conflicts(kubectl: Kubectl, namespace: str) -> None:
    name = unique_name("iris")
    kubectl.run("apply", "-f", "-", input=isvc(name, namespace))
    metadata = _isvc_json(kubectl, name, namespace)["metadata"]
    assert isinstance(metadata, dict)
    stale = metadata["resourceVersion"]
    kubectl.run("annotate", "isvc", name, "-n", namespace, "first=1")
    failed = kubectl.run(
        "annotate", "isvc", name, "-n", namespace, "second=2", f"--resource-version={stale}",
        check=False,
    )  # fmt: skip
    assert failed.returncode != 0
    assert (
        f'Operation cannot be fulfilled on inferenceservices.serving.kserve.io "{name}": the '
        "object has been modified; please apply your changes to the latest version and try again"
    ) in failed.stderr
    current = kubectl.run("get", "isvc", name, "-n", namespace, "-o", "json").stdout
    fresh = json.loads(current)["metadata"]["resourceVersion"]
    kubectl.run(
        "annotate", "isvc", name, "-n", namespace, "second=2", f"--resource-version={fresh}"
    )


def test_patch_merge_changes_the_spec_and_bumps_generation(
    kubectl: Kubectl, namespace: str
) -> None:
    name = unique_name("iris")
    kubectl.run("apply", "-f", "-", input=isvc(name, namespace))
    kubectl.run(
        "patch", "isvc", name, "-n", namespace, "--type", "merge",
        "-p", '{"spec":{"predictor":{"model":{"storageUri":"s3://models/iris/v9"}}}}',
    )  # fmt: skip
    stored = _isvc_json(kubectl, name, namespace)
    assert stored["spec"] == {
        "predictor": {
            "model": {"modelFormat": {"name": "sklearn"}, "storageUri": "s3://models/iris/v9"}
        }
    }
    assert isinstance(stored["metadata"], dict) and stored["metadata"]["generation"] == 2


def test_patch_json_replaces_and_tests_values(kubectl: Kubectl, namespace: str) -> None:
    name = unique_name("iris")
    kubectl.run("apply", "-f", "-", input=isvc(name, namespace))
    operations = [
        {"op": "test", "path": "/spec/predictor/model/storageUri", "value": "s3://models/iris/v1"},
        {"op": "replace", "path": "/spec/predictor/model/storageUri", "value": "s3://m/v2"},
        {"op": "add", "path": "/metadata/labels", "value": {"team": "ml"}},
    ]
    kubectl.run(
        "patch", "isvc", name, "-n", namespace, "--type", "json", "-p", json.dumps(operations)
    )
    stored = _isvc_json(kubectl, name, namespace)
    assert isinstance(stored["metadata"], dict) and stored["metadata"]["labels"] == {"team": "ml"}
    failing_test = [{"op": "test", "path": "/spec/predictor/model/storageUri", "value": "nope"}]
    failed = kubectl.run(
        "patch", "isvc", name, "-n", namespace, "--type", "json", "-p", json.dumps(failing_test),
        check=False,
    )  # fmt: skip
    assert failed.returncode != 0


def test_default_strategic_patch_on_an_inference_service_gets_the_real_415(
    kubectl: Kubectl, namespace: str
) -> None:
    name = unique_name("iris")
    kubectl.run("apply", "-f", "-", input=isvc(name, namespace))
    failed = kubectl.run(
        "patch", "isvc", name, "-n", namespace, "-p", '{"metadata":{"labels":{"a":"b"}}}',
        check=False,
    )  # fmt: skip
    assert failed.returncode != 0
    assert (
        "the body of the request was in an unknown format - accepted media types include: "
        "application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml"
    ) in failed.stderr


def test_strategic_patch_merges_lists_of_a_built_in_kind(kubectl: Kubectl, namespace: str) -> None:
    deployment = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "web", "namespace": namespace},
        "spec": {
            "selector": {"matchLabels": {"app": "web"}},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {"containers": [{"name": "nginx", "image": "nginx:1"}]},
            },
        },
    }
    kubectl.run("apply", "-f", "-", input=json.dumps(deployment))
    patch = {
        "spec": {"template": {"spec": {"containers": [{"name": "nginx", "image": "nginx:2"}]}}}
    }
    kubectl.run("patch", "deployment", "web", "-n", namespace, "-p", json.dumps(patch))
    stored = json.loads(
        kubectl.run("get", "deployment", "web", "-n", namespace, "-o", "json").stdout
    )
    containers = stored["spec"]["template"]["spec"]["containers"]
    assert [(c["name"], c["image"]) for c in containers] == [("nginx", "nginx:2")]
    assert stored["metadata"]["generation"] == 2
