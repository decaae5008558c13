"""A revision is a stable hash of the spec, blind to what kcanary writes and to metadata."""

from __future__ import annotations

import copy
from typing import Any

from rollout.revision import revision_hash, revision_of

ISVC: dict[str, Any] = {
    "apiVersion": "serving.kserve.io/v1beta1",
    "kind": "InferenceService",
    "metadata": {"name": "iris", "namespace": "models", "generation": 3},
    "spec": {
        "predictor": {
            "minReplicas": 1,
            "model": {
                "modelFormat": {"name": "sklearn", "version": "1"},
                "storageUri": "s3://models/iris/v7",
                "runtime": "kserve-sklearnserver",
            },
        }
    },
}


def test_the_hash_is_short_and_stable() -> None:
    first = revision_hash(ISVC["spec"])
    assert first == revision_hash(copy.deepcopy(ISVC["spec"]))
    assert len(first) == 10
    assert first == "6c991e9bbc"  # pinned: a changed hash would restart every live rollout


def test_key_order_does_not_matter() -> None:
    model = ISVC["spec"]["predictor"]["model"]
    reordered = {
        "predictor": {
            "model": {key: model[key] for key in reversed(list(model))},
            "minReplicas": 1,
        }
    }
    assert revision_hash(reordered) == revision_hash(ISVC["spec"])


def test_canary_traffic_percent_is_not_part_of_the_revision() -> None:
    guarded = copy.deepcopy(ISVC)
    guarded["spec"]["predictor"]["canaryTrafficPercent"] = 0
    walked = copy.deepcopy(ISVC)
    walked["spec"]["predictor"]["canaryTrafficPercent"] = 25
    assert revision_of(guarded).hash == revision_of(walked).hash == revision_of(ISVC).hash


def test_kserve_canary_entry_weights_are_not_part_of_the_revision() -> None:
    with_canary = copy.deepcopy(ISVC)
    with_canary["spec"]["canary"] = [{"trafficPercent": 10, "predictor": {"name": "v8"}}]
    walked = copy.deepcopy(with_canary)
    walked["spec"]["canary"][0]["trafficPercent"] = 50
    assert revision_of(with_canary).hash == revision_of(walked).hash
    assert revision_of(with_canary).hash != revision_of(ISVC).hash


def test_metadata_never_counts() -> None:
    relabelled = copy.deepcopy(ISVC)
    relabelled["metadata"]["labels"] = {"team": "ml"}
    relabelled["metadata"]["annotations"] = {"kcanary.io/action": "promote"}
    relabelled["metadata"]["generation"] = 9
    relabelled["status"] = {"observedGeneration": 9}
    assert revision_of(relabelled).hash == revision_of(ISVC).hash


def test_any_change_of_the_serving_spec_is_a_new_revision() -> None:
    for path, value in [
        (("predictor", "model", "storageUri"), "s3://models/iris/v8"),
        (("predictor", "minReplicas"), 2),
        (("predictor", "model", "runtime"), "mlserver"),
    ]:
        changed = copy.deepcopy(ISVC)
        target = changed["spec"]
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value
        assert revision_of(changed).hash != revision_of(ISVC).hash, path


def test_the_revision_carries_the_model_it_serves() -> None:
    revision = revision_of(ISVC)
    assert revision.storage_uri == "s3://models/iris/v7"
    assert revision.model_format == "sklearn:1"
    assert revision.revision_name is None


def test_legacy_framework_specs_are_understood() -> None:
    legacy = {"spec": {"predictor": {"xgboost": {"storageUri": "gs://m/x"}}}}
    revision = revision_of(legacy)
    assert (revision.storage_uri, revision.model_format) == ("gs://m/x", "xgboost")


def test_serverless_revisions_carry_the_knative_revision_name() -> None:
    serverless = copy.deepcopy(ISVC)
    serverless["status"] = {
        "deploymentMode": "Serverless",
        "components": {"predictor": {"latestCreatedRevision": "iris-predictor-00002"}},
    }
    assert revision_of(serverless).revision_name == "iris-predictor-00002"
    assert revision_of(serverless).hash == revision_of(ISVC).hash


def test_a_spec_without_a_model_still_has_a_revision() -> None:
    revision = revision_of({"spec": {}})
    assert revision.storage_uri is None and revision.model_format is None
    assert revision.hash == revision_hash({})
