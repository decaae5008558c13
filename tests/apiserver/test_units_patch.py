"""JSON patch (RFC 6902) and merge patch (RFC 7386) as the API server applies them."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from sim.apiserver.patch import PatchError, json_patch, merge_patch

DOC: dict[str, Any] = {
    "metadata": {"name": "iris", "annotations": {"kcanary.io/steps": "10,50"}},
    "spec": {"items": ["a", "b", "c"], "weight": 10},
}


def test_json_patch_add_replace_remove_apply_in_order_and_leave_the_input_alone() -> None:
    before = copy.deepcopy(DOC)
    result = json_patch(
        DOC,
        [
            {"op": "add", "path": "/spec/extra", "value": {"x": 1}},
            {"op": "replace", "path": "/spec/weight", "value": 25},
            {"op": "remove", "path": "/spec/items/0"},
            {"op": "add", "path": "/spec/items/-", "value": "d"},
            {"op": "add", "path": "/spec/items/1", "value": "b2"},
        ],
    )
    assert result["spec"] == {"items": ["b", "b2", "c", "d"], "weight": 25, "extra": {"x": 1}}
    assert before == DOC


def test_json_patch_pointer_escapes_reach_keys_with_slash_and_tilde() -> None:
    result = json_patch(
        DOC,
        [
            {"op": "replace", "path": "/metadata/annotations/kcanary.io~1steps", "value": "5"},
            {"op": "add", "path": "/metadata/annotations/a~0b", "value": "t"},
        ],
    )
    assert result["metadata"]["annotations"] == {"kcanary.io/steps": "5", "a~b": "t"}


def test_json_patch_move_copy_and_passing_test() -> None:
    result = json_patch(
        DOC,
        [
            {"op": "test", "path": "/spec/weight", "value": 10},
            {"op": "copy", "from": "/spec/weight", "path": "/spec/previous"},
            {"op": "move", "from": "/spec/items", "path": "/spec/list"},
        ],
    )
    assert result["spec"] == {"weight": 10, "previous": 10, "list": ["a", "b", "c"]}


@pytest.mark.parametrize(
    ("operation", "message"),
    [
        (
            {"op": "remove", "path": "/spec/missing"},
            "Unable to remove nonexistent key: missing: missing value",
        ),
        (
            {"op": "replace", "path": "/spec/missing", "value": 1},
            "replace operation does not apply: doc is missing key: /spec/missing: missing value",
        ),
        (
            {"op": "add", "path": "/nothing/here", "value": 1},
            'add operation does not apply: doc is missing path: "/nothing/here": missing value',
        ),
        (
            {"op": "test", "path": "/spec/weight", "value": 11},
            "testing value /spec/weight failed: test failed",
        ),
        (
            {"op": "add", "path": "/spec/items/7", "value": "x"},
            "Unable to access invalid index: 7: invalid index referenced",
        ),
        (
            {"op": "move", "from": "/spec/nope", "path": "/spec/x"},
            "move operation does not apply: doc is missing from path: /spec/nope: missing value",
        ),
    ],
)
def test_json_patch_that_does_not_apply_is_a_422_with_the_libraries_words(
    operation: dict[str, Any], message: str
) -> None:
    with pytest.raises(PatchError) as caught:
        json_patch(DOC, [operation])
    assert caught.value.message == message
    assert caught.value.code == 422


def test_json_patch_body_that_is_not_an_operation_list_is_a_400() -> None:
    with pytest.raises(PatchError) as caught:
        json_patch(DOC, {"op": "add"})
    assert caught.value.code == 400
    assert "cannot unmarshal object" in caught.value.message


def test_json_patch_unknown_operation_is_a_400() -> None:
    with pytest.raises(PatchError) as caught:
        json_patch(DOC, [{"op": "frobnicate", "path": "/spec"}])
    assert caught.value.code == 400
    assert caught.value.message == "Unexpected kind: frobnicate: unknown object type"


def test_merge_patch_merges_objects_deletes_on_null_and_replaces_lists() -> None:
    before = copy.deepcopy(DOC)
    result = merge_patch(
        DOC,
        {
            "metadata": {"annotations": {"kcanary.io/steps": None, "new": "1"}},
            "spec": {"items": ["z"]},
        },
    )
    assert result["metadata"] == {"name": "iris", "annotations": {"new": "1"}}
    assert result["spec"] == {"items": ["z"], "weight": 10}
    assert before == DOC


def test_merge_patch_with_a_non_object_replaces_the_document() -> None:
    assert merge_patch(DOC, ["x"]) == ["x"]
    assert merge_patch("scalar", {"a": {"b": None, "c": 1}}) == {"a": {"c": 1}}


def test_json_patch_test_compares_json_values_not_python_ones() -> None:
    doc = {"a": 1, "b": True, "c": [1, {"d": None}]}
    assert json_patch(doc, [{"op": "test", "path": "/a", "value": 1.0}]) == doc
    assert json_patch(doc, [{"op": "test", "path": "/c", "value": [1, {"d": None}]}]) == doc
    assert json_patch(doc, [{"op": "test", "path": "/missing", "value": None}]) == doc
    for path, value in (("/a", True), ("/b", 1), ("/missing", 0)):
        with pytest.raises(PatchError):
            json_patch(doc, [{"op": "test", "path": path, "value": value}])
