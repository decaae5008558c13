"""Table responses from printer columns, and the JSONPath subset the columns use."""

from __future__ import annotations

import datetime
from typing import Any

import pytest

from sim.apiserver import jsonpath
from sim.apiserver.builtin_kinds import BUILTIN_TYPES
from sim.apiserver.resources import PrinterColumn, ResourceType
from sim.apiserver.tables import human_duration, table_row, to_table

NOW = datetime.datetime(2026, 11, 23, 12, 0, 0, tzinfo=datetime.UTC)

ROLLOUT = ResourceType(
    group="kcanary.io",
    version="v1alpha1",
    kind="InferenceRollout",
    plural="inferencerollouts",
    singular="inferencerollout",
    namespaced=True,
    builtin=False,
    printer_columns=(
        PrinterColumn("Phase", "string", ".status.phase"),
        PrinterColumn("Weight", "integer", ".status.canaryWeight"),
        PrinterColumn("Ready", "string", '.status.conditions[?(@.type=="Ready")].status'),
        PrinterColumn("Hosts", "string", ".spec.hosts"),
        PrinterColumn("Started", "date", ".status.rolloutStartedAt", priority=1),
        PrinterColumn("Age", "date", ".metadata.creationTimestamp"),
    ),
)

OBJ: dict[str, Any] = {
    "apiVersion": "kcanary.io/v1alpha1",
    "kind": "InferenceRollout",
    "metadata": {"name": "iris", "namespace": "m", "creationTimestamp": "2026-11-23T11:55:00Z"},
    "spec": {"hosts": ["a.example.com", "b.example.com"]},
    "status": {
        "phase": "Progressing",
        "canaryWeight": 25,
        "conditions": [
            {"type": "Progressing", "status": "True"},
            {"type": "Ready", "status": "False"},
        ],
    },
}


def test_table_has_name_first_then_the_printer_columns() -> None:
    table = to_table([OBJ], ROLLOUT, resource_version="42", now=NOW)
    assert table["kind"] == "Table" and table["apiVersion"] == "meta.k8s.io/v1"
    assert table["metadata"] == {"resourceVersion": "42"}
    names = [c["name"] for c in table["columnDefinitions"]]
    assert names == ["Name", "Phase", "Weight", "Ready", "Hosts", "Started", "Age"]
    assert table["columnDefinitions"][0]["format"] == "name"
    assert table["columnDefinitions"][5]["priority"] == 1
    cells = table["rows"][0]["cells"]
    assert cells == [
        "iris",
        "Progressing",
        25,
        "False",
        '["a.example.com","b.example.com"]',
        None,
        "5m",
    ]


def test_row_object_is_partial_metadata_full_object_or_absent() -> None:
    metadata_row = table_row(OBJ, ROLLOUT, "Metadata", now=NOW)
    assert metadata_row["object"] == {
        "kind": "PartialObjectMetadata",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": OBJ["metadata"],
    }
    assert table_row(OBJ, ROLLOUT, "Object", now=NOW)["object"] is OBJ
    assert "object" not in table_row(OBJ, ROLLOUT, "None", now=NOW)


def test_continue_token_is_carried() -> None:
    table = to_table([], ROLLOUT, resource_version="1", continue_token="abc")
    assert table["metadata"] == {"resourceVersion": "1", "continue": "abc"}
    assert table["rows"] == []


def test_kind_without_columns_shows_name_and_age() -> None:
    bare = ResourceType(
        group="x.io", version="v1", kind="Thing", plural="things", singular="thing",
        namespaced=True, builtin=False,
    )  # fmt: skip
    table = to_table([OBJ], bare, resource_version="1", now=NOW)
    assert [c["name"] for c in table["columnDefinitions"]] == ["Name", "Age"]
    assert table["rows"][0]["cells"] == ["iris", "5m"]


def test_deployment_ready_column_combines_two_fields() -> None:
    deployments = next(t for t in BUILTIN_TYPES if t.plural == "deployments")
    deploy = {
        "metadata": {"name": "web", "creationTimestamp": "2026-11-23T09:00:00Z"},
        "spec": {
            "replicas": 3,
            "template": {"spec": {"containers": [{"name": "c", "image": "i:1"}]}},
        },
        "status": {"readyReplicas": 2, "updatedReplicas": 3},
    }
    table = to_table([deploy], deployments, resource_version="1", now=NOW)
    names = [c["name"] for c in table["columnDefinitions"]]
    assert names[:5] == ["Name", "Ready", "Up-to-date", "Available", "Age"]
    assert table["rows"][0]["cells"][:7] == ["web", "2/3", 3, 0, "3h", "c", "i:1"]


def test_events_place_their_own_name_column() -> None:
    events = next(t for t in BUILTIN_TYPES if t.plural == "events" and t.group == "")
    event = {
        "metadata": {"name": "iris.1"},
        "involvedObject": {"kind": "InferenceService", "name": "iris"},
        "type": "Normal",
        "reason": "Promoted",
        "message": "done",
        "lastTimestamp": "2026-11-23T11:59:30Z",
    }
    table = to_table([event], events, resource_version="1", now=NOW)
    names = [c["name"] for c in table["columnDefinitions"]]
    assert names[:5] == ["Last Seen", "Type", "Reason", "Object", "Subobject"]
    assert names[-1] == "Name"
    cells = table["rows"][0]["cells"]
    assert cells[:4] == ["30s", "Normal", "Promoted", "inferenceservice/iris"]
    assert cells[-1] == "iris.1"


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (-5, "<invalid>"),
        (0, "0s"),
        (119, "119s"),
        (125, "2m5s"),
        (600, "10m"),
        (3 * 3600 + 60, "3h1m"),
        (10 * 3600, "10h"),
        (3 * 86400 + 3600, "3d1h"),
        (30 * 86400, "30d"),
        (3 * 365 * 86400, "3y"),
    ],
)
def test_human_durations(seconds: float, text: str) -> None:
    assert human_duration(seconds) == text


DOC: dict[str, Any] = {
    "status": {
        "components": {
            "predictor": {
                "traffic": [
                    {"latestRevision": True, "percent": 10, "revisionName": "r2", "tag": "latest"},
                    {"latestRevision": False, "percent": 90, "revisionName": "r1", "tag": "prev"},
                ]
            }
        },
        "labels": {"kcanary.io/x": "y"},
    }
}


@pytest.mark.parametrize(
    ("path", "found"),
    [
        (".status.components.predictor.traffic[0].percent", [10]),
        (".status.components.predictor.traffic[-1].revisionName", ["r1"]),
        (".status.components.predictor.traffic[*].percent", [10, 90]),
        (".status.components.predictor.traffic[0:1].tag", ["latest"]),
        (".status.components.predictor.traffic[?(@.tag=='prev')].percent", [90]),
        (".status.components.predictor.traffic[?(@.latestRevision==true)].revisionName", ["r2"]),
        (".status.components.predictor.traffic[?(@.percent>50)].tag", ["prev"]),
        (".status.components.predictor.traffic[?(@.tag)].tag", ["latest", "prev"]),
        (".status.labels['kcanary.io/x']", ["y"]),
        ("{.status.missing.deeper}", []),
        (".status.components.predictor.traffic[5]", []),
    ],
)
def test_jsonpath_evaluation(path: str, found: list[Any]) -> None:
    assert jsonpath.find(DOC, path) == found


def test_jsonpath_refuses_what_it_cannot_read() -> None:
    with pytest.raises(jsonpath.JSONPathError):
        jsonpath.parse(".status..phase")
