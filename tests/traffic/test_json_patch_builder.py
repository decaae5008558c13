"""The routers' JSON patches: paths escaped, a ``test`` guard refuses a changed document."""

from __future__ import annotations

import jsonpatch
import pytest

from traffic.json_patch import add, guard, json_patch, pointer, remove, replace
from traffic.memory_store import InMemoryStore
from traffic.patches import PatchError, apply_json_patch
from traffic.store import Invalid, ObjectRef, PatchType, ResourceType

CONFIG_MAP = ResourceType("", "v1", "ConfigMap", "configmaps")
REF = ObjectRef(CONFIG_MAP, "ns", "cm")


def test_pointer_escapes_tilde_and_slash_inside_a_part() -> None:
    assert pointer(("metadata", "annotations", "kcanary.io/action")) == (
        "/metadata/annotations/kcanary.io~1action"
    )
    assert pointer(("a~b", "c/~d", 0)) == "/a~0b/c~1~0d/0"
    assert pointer(()) == ""


def test_built_operations_apply_to_keys_holding_slash_and_tilde() -> None:
    doc = {"metadata": {"annotations": {"kcanary.io/action": "promote", "x~y": "1"}}}
    result = apply_json_patch(
        doc,
        json_patch(
            guard(("metadata", "annotations", "kcanary.io/action"), "promote"),
            remove(("metadata", "annotations", "kcanary.io/action")),
            replace(("metadata", "annotations", "x~y"), "2"),
            add(("spec",), {"list": [1]}),
            add(("spec", "list", 0), 0),
        ),
    )
    assert result == {"metadata": {"annotations": {"x~y": "2"}}, "spec": {"list": [0, 1]}}


def test_a_guard_on_a_changed_value_refuses_the_whole_patch() -> None:
    store = InMemoryStore()
    store.create(REF, {"metadata": {"annotations": {"kcanary.io/action": "abort"}}})
    path = ("metadata", "annotations", "kcanary.io/action")
    with pytest.raises(Invalid, match="not equal to tested value promote"):
        store.patch(
            REF,
            json_patch(guard(path, "promote"), remove(path)),
            resource_version=None,
            patch_type=PatchType.JSON,
        )
    stored = store.get(REF)
    assert stored is not None
    assert stored["metadata"]["annotations"] == {"kcanary.io/action": "abort"}


def test_a_guard_on_a_missing_member_fails_rather_than_matching_null() -> None:
    with pytest.raises(PatchError, match=r"operation 0 \(test\)"):
        apply_json_patch({"a": {}}, json_patch(guard(("a", "gone"), None)))


def test_a_malformed_operation_is_refused_when_the_patch_is_built() -> None:
    with pytest.raises(jsonpatch.InvalidJsonPatch, match="Unknown operation 'frob'"):
        json_patch({"op": "frob", "path": "/a"})
