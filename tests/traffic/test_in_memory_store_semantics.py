"""The in-memory store keeps the API server's versioning and preconditions."""

from __future__ import annotations

import pytest

from traffic.memory_store import InMemoryStore
from traffic.patches import PatchError, apply_json_patch, apply_merge_patch
from traffic.store import (
    AlreadyExists,
    Conflict,
    Invalid,
    NotFound,
    ObjectRef,
    PatchType,
    ResourceType,
)

THING = ResourceType("example.com", "v1", "Thing", "things")
REF = ObjectRef(THING, "ns", "a")


def test_create_stamps_identity_generation_and_a_version(store: InMemoryStore) -> None:
    created = store.create(REF, {"spec": {"x": 1}})
    meta = created["metadata"]
    assert created["apiVersion"] == "example.com/v1" and created["kind"] == "Thing"
    assert meta["name"] == "a" and meta["namespace"] == "ns" and meta["generation"] == 1
    assert meta["uid"] and meta["resourceVersion"] and meta["creationTimestamp"]
    with pytest.raises(AlreadyExists):
        store.create(REF, {"spec": {}})


def test_patch_with_a_stale_version_is_a_conflict_and_changes_nothing(store: InMemoryStore) -> None:
    first = store.create(REF, {"spec": {"x": 1}})
    second = store.patch(
        REF, {"spec": {"x": 2}}, resource_version=first["metadata"]["resourceVersion"]
    )
    assert int(second["metadata"]["resourceVersion"]) > int(first["metadata"]["resourceVersion"])
    assert second["metadata"]["generation"] == 2
    with pytest.raises(Conflict, match="the object has been modified"):
        store.patch(REF, {"spec": {"x": 3}}, resource_version=first["metadata"]["resourceVersion"])
    assert store.get(REF)["spec"] == {"x": 2}  # type: ignore[index]


def test_a_patch_carrying_an_old_resource_version_conflicts_like_on_a_server(
    store: InMemoryStore,
) -> None:
    first = store.create(REF, {"spec": {"x": 1}})
    store.patch(REF, {"spec": {"x": 2}}, resource_version=None)
    stale = first["metadata"]["resourceVersion"]
    with pytest.raises(Conflict):
        store.patch(
            REF, {"metadata": {"resourceVersion": stale}, "spec": {"x": 3}}, resource_version=None
        )
    with pytest.raises(Conflict):
        store.patch(
            REF,
            [{"op": "replace", "path": "/metadata/resourceVersion", "value": stale}],
            resource_version=None,
            patch_type=PatchType.JSON,
        )


def test_metadata_only_changes_keep_the_generation(store: InMemoryStore) -> None:
    store.create(REF, {"spec": {"x": 1}})
    patched = store.patch(REF, {"metadata": {"labels": {"a": "b"}}}, resource_version=None)
    assert patched["metadata"]["generation"] == 1


def test_missing_objects_and_bad_patches_raise_store_errors(store: InMemoryStore) -> None:
    with pytest.raises(NotFound):
        store.patch(REF, {}, resource_version=None)
    with pytest.raises(NotFound):
        store.delete(REF)
    store.create(REF, {"spec": {"list": [1]}})
    with pytest.raises(
        Invalid, match=r"operation 0 \(remove\): can't remove a non-existent object '5'"
    ):
        store.patch(
            REF,
            [{"op": "remove", "path": "/spec/list/5"}],
            resource_version=None,
            patch_type=PatchType.JSON,
        )
    with pytest.raises(Invalid, match="cannot change the name"):
        store.patch(REF, {"metadata": {"name": "b"}}, resource_version=None)


def test_an_interleaved_writer_runs_before_the_next_write_and_is_not_counted(
    store: InMemoryStore,
) -> None:
    created = store.create(REF, {"spec": {"x": 1}})

    def other_client(s: InMemoryStore) -> None:
        s.patch(REF, {"spec": {"y": 9}}, resource_version=None)

    store.interleave(other_client)
    with pytest.raises(Conflict):
        store.patch(
            REF, {"spec": {"x": 2}}, resource_version=created["metadata"]["resourceVersion"]
        )
    assert store.get(REF)["spec"] == {"x": 1, "y": 9}  # type: ignore[index]
    assert [(r.verb, r.accepted) for r in store.log] == [("create", True), ("patch", False)]
    assert store.writes() == 1


def test_merge_patch_merges_objects_replaces_lists_and_deletes_on_null() -> None:
    target = {"a": {"b": 1, "c": 2}, "l": [1, 2], "d": 4}
    assert apply_merge_patch(target, {"a": {"b": None, "e": 5}, "l": [3], "d": None}) == {
        "a": {"c": 2, "e": 5},
        "l": [3],
    }
    assert target == {"a": {"b": 1, "c": 2}, "l": [1, 2], "d": 4}


def test_json_patch_applies_rfc6902_operations_in_order() -> None:
    doc = {"a": [1, 2, 3], "b": {"c": "x~/y"}}
    result = apply_json_patch(
        doc,
        [
            {"op": "test", "path": "/b/c", "value": "x~/y"},
            {"op": "add", "path": "/a/-", "value": 4},
            {"op": "remove", "path": "/a/0"},
            {"op": "replace", "path": "/b/c", "value": "z"},
            {"op": "copy", "from": "/b", "path": "/e~1f"},
            {"op": "move", "from": "/a/0", "path": "/m"},
        ],
    )
    assert result == {"a": [3, 4], "b": {"c": "z"}, "e/f": {"c": "z"}, "m": 2}
    with pytest.raises(PatchError, match=r"operation 0 \(test\): x~/y .* not equal .* other"):
        apply_json_patch(doc, [{"op": "test", "path": "/b/c", "value": "other"}])
    with pytest.raises(PatchError, match=r"operation 1 \(replace\): .*non-existent object 'zz'"):
        apply_json_patch(doc, [{"op": "add", "path": "/n", "value": 1},
                               {"op": "replace", "path": "/zz", "value": 1}])  # fmt: skip
    with pytest.raises(PatchError, match=r"operation 0 \(frob\): Unknown operation 'frob'"):
        apply_json_patch(doc, [{"op": "frob", "path": "/a"}])
    with pytest.raises(PatchError, match="does not contain a 'value' member"):
        apply_json_patch(doc, [{"op": "add", "path": "/a"}])
    assert doc == {"a": [1, 2, 3], "b": {"c": "x~/y"}}  # nothing applied, even in part
