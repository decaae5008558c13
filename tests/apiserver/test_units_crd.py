"""CRDs: the project's own and the third-party ones are valid, and become resource types."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from sim.apiserver.crd import resource_types_from_crd, validate_crd
from sim.apiserver.schema import FieldCause, prune, validate

ROOT = Path(__file__).resolve().parents[2]
CRD_FILES = sorted((ROOT / "deploy" / "crds").glob("*.yaml")) + sorted(
    (ROOT / "sim" / "crds").glob("*.yaml")
)


def _load(name: str) -> dict[str, Any]:
    path = next(p for p in CRD_FILES if p.name == name)
    crd: dict[str, Any] = yaml.safe_load(path.read_text())
    return crd


def test_every_shipped_crd_is_found() -> None:
    assert {p.name for p in CRD_FILES} == {
        "kcanary.io_inferencerollouts.yaml",
        "serving.kserve.io_inferenceservices.yaml",
        "networking.istio.io_virtualservices.yaml",
        "gateway.networking.k8s.io_httproutes.yaml",
        "gateway.networking.k8s.io_gateways.yaml",
    }


@pytest.mark.parametrize("path", CRD_FILES, ids=lambda p: p.name)
def test_shipped_crds_are_valid_and_become_resource_types(path: Path) -> None:
    crd = yaml.safe_load(path.read_text())
    assert validate_crd(crd) == []
    types = resource_types_from_crd(crd)
    assert types and all(not t.builtin and t.schema for t in types)
    assert sum(t.storage for t in types) == 1
    assert all(t.printer_columns[-1].name == "Age" for t in types)


def test_inference_rollout_resource_type() -> None:
    (rollout,) = resource_types_from_crd(_load("kcanary.io_inferencerollouts.yaml"))
    assert (rollout.group, rollout.version, rollout.kind, rollout.plural) == (
        "kcanary.io",
        "v1alpha1",
        "InferenceRollout",
        "inferencerollouts",
    )
    assert rollout.short_names == ("irollout",)
    assert rollout.categories == ("kcanary",)
    assert rollout.namespaced and rollout.has_status and rollout.list_kind == "InferenceRolloutList"
    plain = [c.name for c in rollout.printer_columns if c.priority == 0]
    assert plain == ["Phase", "Weight", "Step", "Canary", "Stable", "Age"]


FULL_STATUS: dict[str, Any] = {
    "phase": "Progressing",
    "message": "canary at 25%",
    "observedGeneration": 3,
    "currentStep": 1,
    "canaryWeight": 25,
    "stable": {"revision": "a1b2c3", "storageUri": "s3://m/v1", "modelFormat": "sklearn"},
    "canary": {
        "revision": "d4e5f6",
        "storageUri": "s3://m/v2",
        "modelFormat": "sklearn:1",
        "revisionName": "iris-predictor-00002",
    },
    "rolloutStartedAt": "2026-11-23T10:00:00Z",
    "stepStartedAt": "2026-11-23T10:02:00Z",
    "weightPeriods": [
        {"weight": 10, "since": "2026-11-23T10:00:00Z"},
        {"weight": 25, "since": "2026-11-23T10:02:00Z"},
    ],
    "extensionStartedAt": "2026-11-23T10:04:00Z",
    "lastStepEnd": {"step": 0, "reason": "evidence", "at": "2026-11-23T10:02:00Z"},
    "lastAnalysis": {
        "time": "2026-11-23T10:03:00Z",
        "verdict": "Inconclusive",
        "checks": [
            {
                "name": "error-rate",
                "metric": "error-rate",
                "verdict": "Inconclusive",
                "stable": 0.01,
                "canary": 0.012,
                "effect": 0.002,
                "interval": [-0.004, None],
                "evalue": 1.7,
                "threshold": 40.0,
                "samples": {"stable": 1200, "canary": 130},
            }
        ],
    },
    "conditions": [
        {
            "type": "Ready",
            "status": "True",
            "reason": "Progressing",
            "message": "ok",
            "lastTransitionTime": "2026-11-23T10:00:00Z",
            "observedGeneration": 3,
        }
    ],
    "history": [
        {
            "revision": "a1b2c3",
            "storageUri": "s3://m/v1",
            "modelFormat": "sklearn",
            "startedAt": "2026-11-22T10:00:00Z",
            "finishedAt": "2026-11-22T10:20:00Z",
            "outcome": "promoted",
            "reason": "analysis passed",
            "actions": [
                {"action": "pause", "by": "alice", "at": "2026-11-22T10:05:00Z", "message": "m"}
            ],
        }
    ],
}


def test_inference_rollout_status_survives_pruning_and_validates() -> None:
    (rollout,) = resource_types_from_crd(_load("kcanary.io_inferencerollouts.yaml"))
    obj = {
        "apiVersion": "kcanary.io/v1alpha1",
        "kind": "InferenceRollout",
        "metadata": {"name": "iris", "namespace": "models"},
        "spec": {"targetRef": {"name": "iris"}},
        "status": copy.deepcopy(FULL_STATUS),
    }
    pruned, removed = prune(obj, rollout.schema)
    assert removed == []
    assert pruned == obj
    assert validate(obj, rollout.schema) == []


def test_inference_rollout_rejects_an_unknown_phase_and_a_bad_weight() -> None:
    (rollout,) = resource_types_from_crd(_load("kcanary.io_inferencerollouts.yaml"))
    obj = {"status": {"phase": "Exploding", "canaryWeight": 120}}
    assert [c.field for c in validate(obj, rollout.schema)] == [
        "status.phase",
        "status.canaryWeight",
    ]


def test_isvc_keeps_unknown_fields_but_types_the_declared_ones() -> None:
    (isvc,) = resource_types_from_crd(_load("serving.kserve.io_inferenceservices.yaml"))
    assert isvc.short_names == ("isvc",)
    obj = {
        "spec": {
            "predictor": {
                "model": {"modelFormat": {"name": "sklearn"}, "storageUri": "s3://x", "new": 1},
                "serviceAccountName": "sa",
            },
            "future": {"x": 1},
        }
    }
    assert prune(obj, isvc.schema) == (obj, [])
    bad = {"spec": {"predictor": {"canaryTrafficPercent": "ten"}}}
    assert [c.reason for c in validate(bad, isvc.schema)] == ["FieldValueTypeInvalid"]


def test_httproute_limits_backend_refs_and_weights() -> None:
    (route,) = resource_types_from_crd(_load("gateway.networking.k8s.io_httproutes.yaml"))
    refs = [{"name": f"b{i}", "weight": 1} for i in range(17)]
    refs[0]["weight"] = 2_000_000
    causes = validate({"spec": {"rules": [{"backendRefs": refs}]}}, route.schema)
    assert [c.field for c in causes] == [
        "spec.rules[0].backendRefs",
        "spec.rules[0].backendRefs[0].weight",
    ]


def test_virtual_service_is_served_in_two_versions_with_v1_stored() -> None:
    types = resource_types_from_crd(_load("networking.istio.io_virtualservices.yaml"))
    assert [(t.version, t.storage) for t in types] == [("v1", True), ("v1beta1", False)]
    assert all(t.short_names == ("vs",) for t in types)


def _crd(**changes: Any) -> dict[str, Any]:
    crd = _load("kcanary.io_inferencerollouts.yaml")
    crd = copy.deepcopy(crd)
    for key, value in changes.items():
        crd["spec"][key] = value
    return crd


def test_crd_name_must_be_plural_dot_group() -> None:
    crd = _crd()
    crd["metadata"]["name"] = "rollouts.kcanary.io"
    assert validate_crd(crd) == [
        FieldCause(
            "FieldValueInvalid",
            'Invalid value: "rollouts.kcanary.io": must be spec.names.plural+"."+spec.group',
            "metadata.name",
        )
    ]


def test_crd_needs_exactly_one_storage_version() -> None:
    crd = _crd()
    crd["spec"]["versions"][0]["storage"] = False
    (cause,) = validate_crd(crd)
    assert cause.field == "spec.versions"
    assert cause.message.endswith("must have exactly one version marked as storage version")
    assert validate_crd(_crd(versions=[]))[0].reason == "FieldValueRequired"


def test_crd_schema_must_be_structural() -> None:
    crd = _crd()
    schema = crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
    schema["properties"]["spec"]["properties"]["untyped"] = {"description": "no type"}
    schema["properties"]["spec"]["properties"]["list"] = {"type": "array"}
    causes = validate_crd(crd)
    base = "spec.versions[0].schema.openAPIV3Schema.properties[spec]"
    assert [(c.field, c.message) for c in causes] == [
        (
            f"{base}.properties[untyped].type",
            "Required value: must not be empty for specified object fields",
        ),
        (f"{base}.properties[list].items", "Required value: must be specified"),
    ]


def test_crd_schema_is_required_and_metadata_may_not_be_described() -> None:
    crd = _crd()
    del crd["spec"]["versions"][0]["schema"]
    assert validate_crd(crd)[0].message == "Required value: schemas are required"
    crd = _crd()
    schema = crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
    schema["properties"]["metadata"] = {
        "type": "object",
        "properties": {"labels": {"type": "object"}},
    }
    assert validate_crd(crd)[0].reason == "FieldValueForbidden"


def test_crd_printer_column_type_must_be_known() -> None:
    crd = _crd()
    crd["spec"]["versions"][0]["additionalPrinterColumns"][0]["type"] = "text"
    (cause,) = validate_crd(crd)
    assert cause.reason == "FieldValueNotSupported"
    assert cause.field == "spec.versions[0].additionalPrinterColumns[0].type"


def test_list_map_keys_must_be_required_or_defaulted() -> None:
    crd = _crd()
    status = crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["status"]
    status["properties"]["conditions"]["items"]["required"] = ["status"]
    (cause,) = validate_crd(crd)
    assert cause.field == (
        "spec.versions[0].schema.openAPIV3Schema.properties[status].properties[conditions]"
        ".items.properties[type]"
    )
    assert cause.message == (
        "Required value: this property is in x-kubernetes-list-map-keys, so it must have a "
        "default or be a required property"
    )


def test_selectable_fields_become_field_selectors() -> None:
    crd = _crd()
    crd["spec"]["versions"][0]["selectableFields"] = [{"jsonPath": ".spec.targetRef.name"}]
    (rollout,) = resource_types_from_crd(crd)
    assert rollout.field_selectors == ("metadata.name", "metadata.namespace", "spec.targetRef.name")


def test_status_written_by_the_controller_survives_pruning_and_validates() -> None:
    """The CRD and rollout.status must stay in step: a field missing from the schema would
    vanish on a real cluster."""
    from datetime import UTC, datetime

    from rollout.evidence import AnalysisSummary, Verdict
    from rollout.revision import Revision
    from rollout.state import (
        ActionRecord,
        Condition,
        HistoryEntry,
        Outcome,
        Phase,
        RolloutState,
        WeightPeriod,
    )
    from rollout.status import to_status

    moment = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
    stable = Revision("a1b2c3", "s3://m/v1", "sklearn")
    canary = Revision("d4e5f6", "s3://m/v2", "sklearn:1", "iris-predictor-00002")
    check = FULL_STATUS["lastAnalysis"]["checks"][0]
    state = RolloutState(
        phase=Phase.PROGRESSING,
        message="canary at 25%",
        observed_generation=3,
        current_step=1,
        canary_weight=25,
        stable=stable,
        canary=canary,
        rollout_started_at=moment,
        step_started_at=moment,
        weight_periods=(WeightPeriod(10, moment), WeightPeriod(25, moment)),
        last_analysis=AnalysisSummary(moment, Verdict.INCONCLUSIVE, (check,)),
        conditions=(Condition("Ready", "True", "Progressing", "ok", moment, 3),),
        history=(
            HistoryEntry(
                stable,
                moment,
                moment,
                Outcome.PROMOTED,
                "passed",
                (ActionRecord("pause", "alice", moment, "paused"),),
            ),
            HistoryEntry(canary, moment),
        ),
    )
    (rollout,) = resource_types_from_crd(_load("kcanary.io_inferencerollouts.yaml"))
    obj = {"metadata": {"name": "iris"}, "status": to_status(state)}
    pruned, removed = prune(obj, rollout.schema)
    assert removed == []
    assert pruned == obj
    assert validate(obj, rollout.schema) == []


def test_unusable_schema_keywords_are_refused_up_front() -> None:
    crd = _crd()
    spec = crd["spec"]["versions"][0]["schema"]["openAPIV3Schema"]["properties"]["spec"]
    spec["properties"]["n"] = {"type": "integer", "minimum": "one", "maxLength": -1}
    spec["properties"]["s"] = {"type": "string", "pattern": "([a-z"}
    fields = [c.field for c in validate_crd(crd)]
    base = "spec.versions[0].schema.openAPIV3Schema.properties[spec].properties"
    assert fields == [f"{base}[n].minimum", f"{base}[n].maxLength", f"{base}[s].pattern"]
