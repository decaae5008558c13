"""Strategic merge patch of built-in kinds: merge keys, set merges and every directive."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from sim.apiserver.builtin_kinds import BUILTIN_TYPES
from sim.apiserver.patch import PatchError, strategic_merge_patch
from sim.apiserver.resources import ResourceType


def _kind(group: str, plural: str) -> ResourceType:
    return next(t for t in BUILTIN_TYPES if t.group == group and t.plural == plural)


DEPLOYMENTS = _kind("apps", "deployments")
SERVICES = _kind("", "services")


def _deployment() -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {
            "name": "web",
            "namespace": "default",
            "finalizers": ["a.example.com/one"],
            "ownerReferences": [
                {"apiVersion": "v1", "kind": "ConfigMap", "name": "o1", "uid": "u1"},
            ],
            "labels": {"app": "web", "tier": "front"},
        },
        "spec": {
            "replicas": 1,
            "template": {
                "spec": {
                    "containers": [
                        {
                            "name": "main",
                            "image": "web:1",
                            "args": ["--a"],
                            "env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}],
                            "ports": [{"containerPort": 80, "name": "http"}],
                        },
                        {"name": "sidecar", "image": "proxy:1"},
                    ],
                    "volumes": [{"name": "data", "emptyDir": {}}],
                }
            },
        },
        "status": {
            "conditions": [
                {"type": "Available", "status": "True"},
                {"type": "Progressing", "status": "True"},
            ]
        },
    }


def _containers(obj: dict[str, Any]) -> list[dict[str, Any]]:
    result: list[dict[str, Any]] = obj["spec"]["template"]["spec"]["containers"]
    return result


def test_containers_merge_by_name_and_env_by_name_while_args_are_replaced() -> None:
    original = _deployment()
    before = copy.deepcopy(original)
    patch = {
        "spec": {
            "template": {
                "spec": {
                    "containers": [
                        {
                            "name": "main",
                            "image": "web:2",
                            "args": ["--b"],
                            "env": [{"name": "B", "value": "20"}, {"name": "C", "value": "3"}],
                        }
                    ]
                }
            }
        }
    }
    result = strategic_merge_patch(original, patch, DEPLOYMENTS)
    main, sidecar = _containers(result)
    assert main["image"] == "web:2"
    assert main["args"] == ["--b"]
    assert main["env"] == [
        {"name": "A", "value": "1"},
        {"name": "B", "value": "20"},
        {"name": "C", "value": "3"},
    ]
    assert sidecar == {"name": "sidecar", "image": "proxy:1"}
    assert original == before


def test_container_ports_merge_by_container_port() -> None:
    patch = {
        "spec": {
            "template": {
                "spec": {
                    "containers": [
                        {"name": "main", "ports": [{"containerPort": 80, "protocol": "TCP"}]}
                    ]
                }
            }
        }
    }
    result = strategic_merge_patch(_deployment(), patch, DEPLOYMENTS)
    assert _containers(result)[0]["ports"] == [
        {"containerPort": 80, "name": "http", "protocol": "TCP"}
    ]


def test_owner_references_merge_by_uid_and_conditions_by_type() -> None:
    patch = {
        "metadata": {
            "ownerReferences": [{"apiVersion": "v1", "kind": "Secret", "name": "o2", "uid": "u2"}]
        },
        "status": {"conditions": [{"type": "Available", "status": "False"}]},
    }
    result = strategic_merge_patch(_deployment(), patch, DEPLOYMENTS)
    assert [r["uid"] for r in result["metadata"]["ownerReferences"]] == ["u1", "u2"]
    assert result["status"]["conditions"] == [
        {"type": "Available", "status": "False"},
        {"type": "Progressing", "status": "True"},
    ]


def test_finalizers_merge_as_a_set() -> None:
    patch = {"metadata": {"finalizers": ["a.example.com/one", "b.example.com/two"]}}
    result = strategic_merge_patch(_deployment(), patch, DEPLOYMENTS)
    assert result["metadata"]["finalizers"] == ["a.example.com/one", "b.example.com/two"]


def test_null_deletes_a_key() -> None:
    patch = {"metadata": {"labels": {"tier": None}}}
    result = strategic_merge_patch(_deployment(), patch, DEPLOYMENTS)
    assert result["metadata"]["labels"] == {"app": "web"}


def test_patch_delete_directive_in_a_list_removes_the_item_with_that_key() -> None:
    patch = {
        "spec": {"template": {"spec": {"containers": [{"name": "sidecar", "$patch": "delete"}]}}}
    }
    result = strategic_merge_patch(_deployment(), patch, DEPLOYMENTS)
    assert [c["name"] for c in _containers(result)] == ["main"]


def test_patch_replace_directive_in_a_list_replaces_the_whole_list() -> None:
    patch = {
        "spec": {
            "template": {
                "spec": {"containers": [{"$patch": "replace"}, {"name": "only", "image": "x"}]}
            }
        }
    }
    result = strategic_merge_patch(_deployment(), patch, DEPLOYMENTS)
    assert _containers(result) == [{"name": "only", "image": "x"}]


def test_patch_replace_directive_in_a_map_replaces_the_map() -> None:
    patch = {"metadata": {"labels": {"$patch": "replace", "only": "this"}}}
    result = strategic_merge_patch(_deployment(), patch, DEPLOYMENTS)
    assert result["metadata"]["labels"] == {"only": "this"}


def test_patch_delete_directive_in_a_map_removes_the_map() -> None:
    patch = {"spec": {"template": {"spec": {"$patch": "delete"}}}}
    result = strategic_merge_patch(_deployment(), patch, DEPLOYMENTS)
    assert result["spec"]["template"]["spec"] == {}


def test_patch_merge_directive_is_the_default_behaviour() -> None:
    patch = {"metadata": {"labels": {"$patch": "merge", "new": "1"}}}
    result = strategic_merge_patch(_deployment(), patch, DEPLOYMENTS)
    assert result["metadata"]["labels"] == {"app": "web", "tier": "front", "new": "1"}


def test_delete_from_primitive_list_removes_values() -> None:
    original = _deployment()
    original["metadata"]["finalizers"] = ["a.example.com/one", "b.example.com/two"]
    patch = {"metadata": {"$deleteFromPrimitiveList/finalizers": ["a.example.com/one"]}}
    result = strategic_merge_patch(original, patch, DEPLOYMENTS)
    assert result["metadata"]["finalizers"] == ["b.example.com/two"]


def test_set_element_order_reorders_a_merged_list() -> None:
    patch = {
        "spec": {
            "template": {
                "spec": {
                    "$setElementOrder/containers": [{"name": "sidecar"}, {"name": "main"}],
                    "containers": [{"name": "main", "image": "web:3"}],
                }
            }
        }
    }
    result = strategic_merge_patch(_deployment(), patch, DEPLOYMENTS)
    assert [c["name"] for c in _containers(result)] == ["sidecar", "main"]
    assert _containers(result)[1]["image"] == "web:3"


def test_retain_keys_clears_fields_not_listed() -> None:
    original = _deployment()
    original["spec"]["strategy"] = {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1}}
    patch = {"spec": {"strategy": {"$retainKeys": ["type"], "type": "Recreate"}}}
    result = strategic_merge_patch(original, patch, DEPLOYMENTS)
    assert result["spec"]["strategy"] == {"type": "Recreate"}


def test_retain_keys_that_do_not_cover_the_patch_are_refused() -> None:
    patch = {"spec": {"strategy": {"$retainKeys": ["type"], "rollingUpdate": {}}}}
    with pytest.raises(PatchError) as caught:
        strategic_merge_patch(_deployment(), patch, DEPLOYMENTS)
    assert caught.value.message == "patch content doesn't match retainKeys list"
    assert caught.value.code == 422


def test_lists_without_a_strategy_are_replaced() -> None:
    original = {"spec": {"clusterIPs": ["10.0.0.1", "10.0.0.2"]}}
    result = strategic_merge_patch(original, {"spec": {"clusterIPs": ["10.0.0.3"]}}, SERVICES)
    assert result["spec"]["clusterIPs"] == ["10.0.0.3"]


def test_service_ports_merge_by_port() -> None:
    original = {"spec": {"ports": [{"port": 80, "name": "http"}, {"port": 443, "name": "https"}]}}
    result = strategic_merge_patch(
        original, {"spec": {"ports": [{"port": 443, "targetPort": 8443}]}}, SERVICES
    )
    assert result["spec"]["ports"][1] == {"port": 443, "name": "https", "targetPort": 8443}


def test_list_item_without_its_merge_key_is_refused() -> None:
    patch = {"spec": {"template": {"spec": {"containers": [{"image": "x"}]}}}}
    with pytest.raises(PatchError) as caught:
        strategic_merge_patch(_deployment(), patch, DEPLOYMENTS)
    assert caught.value.message == "map: map[image:x] does not contain declared merge key: name"


def test_unknown_patch_directive_is_a_bad_request() -> None:
    with pytest.raises(PatchError) as caught:
        strategic_merge_patch(_deployment(), {"metadata": {"$patch": "explode"}}, DEPLOYMENTS)
    assert caught.value.code == 400
    assert caught.value.message.startswith("unknown patch type: explode in map:")


def test_directives_never_reach_new_content() -> None:
    patch = {
        "metadata": {"annotations": {"$patch": "replace", "a": "1"}},
        "spec": {"template": {"spec": {"initContainers": [{"name": "init", "image": "i"}]}}},
    }
    result = strategic_merge_patch(_deployment(), patch, DEPLOYMENTS)
    assert result["metadata"]["annotations"] == {"a": "1"}
    assert result["spec"]["template"]["spec"]["initContainers"] == [{"name": "init", "image": "i"}]
