"""Model servers answer the KServe V1 and V2 REST protocols as KServe's Python server does."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from sim.behaviour import parse_storage_uri
from sim.modelserver import ModelServer, ModelServerHost, ModelServerSpec, PodIdentity

HttpCall = Callable[..., tuple[int, Any]]
POD = PodIdentity(
    namespace="models",
    pod_name="iris-predictor-7d9f",
    workload="iris-predictor",
    service="iris-predictor",
)


@pytest.fixture
def server(host: ModelServerHost) -> ModelServer:
    spec = ModelServerSpec("iris", behaviour=parse_storage_uri("sim://iris/v1?p50_ms=1"))
    return host.launch(spec, POD)


def test_v1_predict_classifies_iris_rows(server: ModelServer, http: HttpCall) -> None:
    rows = [[5.1, 3.5, 1.4, 0.2], [6.0, 2.7, 4.2, 1.3], [7.2, 3.6, 6.1, 2.5]]
    status, body = http("POST", f"{server.url}/v1/models/iris:predict", {"instances": rows})
    assert (status, body) == (200, {"predictions": [0, 1, 2]})


def test_v2_infer_returns_an_int64_output_tensor(server: ModelServer, http: HttpCall) -> None:
    tensor = {
        "name": "input-0",
        "shape": [2, 4],
        "datatype": "FP32",
        "data": [5.1, 3.5, 1.4, 0.2, 7.2, 3.6, 6.1, 2.5],
    }
    status, body = http(
        "POST", f"{server.url}/v2/models/iris/infer", {"id": "r1", "inputs": [tensor]}
    )
    assert status == 200
    assert body["model_name"] == "iris" and body["id"] == "r1"
    assert body["outputs"] == [
        {"name": "output-0", "shape": [2], "datatype": "INT64", "parameters": None, "data": [0, 2]}
    ]


def test_health_and_metadata_endpoints(server: ModelServer, http: HttpCall) -> None:
    assert http("GET", f"{server.url}/") == (200, {"status": "alive"})
    assert http("GET", f"{server.url}/v1/models/iris") == (200, {"name": "iris", "ready": True})
    assert http("GET", f"{server.url}/v2/health/live") == (200, {"live": True})
    assert http("GET", f"{server.url}/v2/health/ready") == (200, {"ready": True})
    assert http("GET", f"{server.url}/v2/models/iris/ready") == (
        200,
        {"name": "iris", "ready": True},
    )
    status, metadata = http("GET", f"{server.url}/v2/models/iris")
    assert status == 200 and metadata["name"] == "iris" and metadata["platform"] == ""
    status, server_metadata = http("GET", f"{server.url}/v2")
    assert status == 200 and server_metadata["name"] == "kserve"


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/v1/models/iris-primary:predict", {"instances": [[1, 2, 3, 4]]}),
        ("GET", "/v1/models/iris-primary", None),
        ("POST", "/v2/models/iris-primary/infer", {"inputs": []}),
        ("GET", "/v2/models/iris-primary", None),
        ("GET", "/v2/models/iris-primary/ready", None),
    ],
)
def test_unknown_model_is_kserves_404(
    server: ModelServer, http: HttpCall, method: str, path: str, body: Any
) -> None:
    assert http(method, server.url + path, body) == (
        404,
        {"error": "Model with name iris-primary does not exist."},
    )


def test_malformed_bodies_are_rejected_as_kserve_does(server: ModelServer, http: HttpCall) -> None:
    status, body = http("POST", f"{server.url}/v1/models/iris:predict", raw=b"{not json")
    assert status == 400 and body["error"].startswith("Unrecognized request format")
    status, body = http("POST", f"{server.url}/v2/models/iris/infer", raw=b"{not json")
    assert status == 422 and body["detail"][0]["type"] == "json_invalid"
    status, body = http("POST", f"{server.url}/v2/models/iris/infer", {"instances": []})
    assert status == 422 and body["detail"][0]["loc"] == ["body", "InferenceRequest", "inputs"]
    # Rows of the wrong width fail inside the model, as a 500 naming the exception.
    status, body = http("POST", f"{server.url}/v1/models/iris:predict", {"instances": [[1, 2]]})
    assert status == 500 and body["error"].startswith("ValueError : X has 2 features")
    tensor = {"name": "input-0", "shape": [1, 3], "datatype": "FP32", "data": [1, 2, 3]}
    status, body = http("POST", f"{server.url}/v2/models/iris/infer", {"inputs": [tensor]})
    assert status == 500
    # Data that does not fit the declared shape is invalid input.
    tensor = {"name": "input-0", "shape": [2, 4], "datatype": "FP32", "data": [1, 2, 3]}
    status, body = http("POST", f"{server.url}/v2/models/iris/infer", {"inputs": [tensor]})
    assert status == 400


def test_served_name_can_be_pinned_by_args(host: ModelServerHost, http: HttpCall) -> None:
    spec = ModelServerSpec("iris-primary", args=("--model_name=iris",))
    server = host.launch(spec, POD)
    status, _ = http("POST", f"{server.url}/v1/models/iris:predict", {"instances": [[1, 2, 3, 4]]})
    assert status == 200
    status, _ = http("GET", f"{server.url}/v1/models/iris-primary")
    assert status == 404


def test_metrics_are_kserves_histograms_by_model_name(
    server: ModelServer, http: HttpCall, samples: Callable[..., float]
) -> None:
    for _ in range(3):
        http("POST", f"{server.url}/v1/models/iris:predict", {"instances": [[1, 2, 3, 4]]})
    status, text = http("GET", f"{server.url}/metrics")
    assert status == 200
    for name in (
        "request_predict_seconds",
        "request_preprocess_seconds",
        "request_postprocess_seconds",
    ):
        assert samples(text, f"{name}_count", model_name="iris") == 3
    assert samples(text, "request_predict_seconds_bucket", model_name="iris", le="10.0") == 3
    assert "# TYPE request_explain_seconds histogram" in text


def test_versions_disagree_on_some_borderline_flowers() -> None:
    from sim.modelserver.iris import IrisClassifier

    rows = [[6.0, 2.9, 4.5 + i / 50, 1.5 + i / 100] for i in range(40)]
    predictions = {IrisClassifier.for_version(v).predict(rows)[0] for v in ("v1", "v2")}
    a = IrisClassifier.for_version("v1").predict(rows)
    b = IrisClassifier.for_version("v2").predict(rows)
    assert predictions <= {1, 2}
    assert a != b and sum(x != y for x, y in zip(a, b, strict=True)) < len(rows) // 2
