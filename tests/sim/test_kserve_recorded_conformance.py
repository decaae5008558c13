"""Answers match those recorded from the real KServe 0.21 Python model server.

The expectations below were recorded by sending the same requests to `kserve.ModelServer`
(PyPI `kserve` 0.21.0) serving a model named `iris`; prediction values and the server version
are left out, as they depend on the model and release.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from sim.modelserver import ModelServer, ModelServerHost, ModelServerSpec, PodIdentity

HttpCall = Callable[..., tuple[int, Any]]
ROW = [6.8, 2.8, 4.8, 1.4]
TENSOR = {"name": "input-0", "shape": [1, 4], "datatype": "FP32", "data": ROW}
NOT_FOUND = {"error": "Model with name other does not exist."}

RECORDED: list[tuple[str, str, Any, bytes | None, int, Any]] = [
    ("GET", "/", None, None, 200, {"status": "alive"}),
    ("GET", "/v1/models", None, None, 200, {"models": ["iris"]}),
    ("GET", "/v1/models/iris", None, None, 200, {"name": "iris", "ready": True}),
    ("POST", "/v1/models/other:predict", {"instances": [ROW]}, None, 404, NOT_FOUND),
    ("GET", "/v1/models/other", None, None, 404, NOT_FOUND),
    ("POST", "/v1/models/iris:predict", {"foo": 1}, None, 500, {"error": "KeyError : 'instances'"}),
    (
        "POST",
        "/v1/models/iris:predict",
        {"instances": [[1, 2]]},
        None,
        500,
        {"error": "ValueError : X has 2 features, but the model is expecting 4 features as input"},
    ),
    ("GET", "/v2/health/live", None, None, 200, {"live": True}),
    ("GET", "/v2/health/ready", None, None, 200, {"ready": True}),
    (
        "GET",
        "/v2/models/iris",
        None,
        None,
        200,
        {"name": "iris", "versions": None, "platform": "", "inputs": [], "outputs": []},
    ),
    ("GET", "/v2/models/iris/ready", None, None, 200, {"name": "iris", "ready": True}),
    ("GET", "/v2/models/other", None, None, 404, NOT_FOUND),
    ("GET", "/v2/models/other/ready", None, None, 404, NOT_FOUND),
    ("POST", "/v2/models/other/infer", {"inputs": [TENSOR]}, None, 404, NOT_FOUND),
    (
        "POST",
        "/v2/models/iris/infer",
        None,
        b"{not json",
        422,
        {
            "detail": [
                {
                    "type": "json_invalid",
                    "loc": ["body", 1],
                    "msg": "JSON decode error",
                    "input": {},
                    "ctx": {"error": "Expecting property name enclosed in double quotes"},
                }
            ]
        },
    ),
    (
        "POST",
        "/v2/models/iris/infer",
        {"instances": []},
        None,
        422,
        {
            "detail": [
                {
                    "type": "missing",
                    "loc": ["body", "InferenceRequest", "inputs"],
                    "msg": "Field required",
                    "input": {"instances": []},
                },
                {
                    "type": "bytes_type",
                    "loc": ["body", "bytes"],
                    "msg": "Input should be a valid bytes",
                    "input": {"instances": []},
                },
            ]
        },
    ),
]


@pytest.fixture
def server(host: ModelServerHost) -> ModelServer:
    return host.launch(ModelServerSpec("iris"), PodIdentity("models", "p", "w", "s"))


@pytest.mark.parametrize(
    ("method", "path", "body", "raw", "status", "expected"),
    RECORDED,
    ids=[f"{c[0]} {c[1]} {c[4]}" for c in RECORDED],
)
def test_answer_matches_kserve_recording(
    server: ModelServer,
    http: HttpCall,
    method: str,
    path: str,
    body: Any,
    raw: bytes | None,
    status: int,
    expected: Any,
) -> None:
    assert http(method, server.url + path, body, raw=raw) == (status, expected)


def test_invalid_json_is_a_400_with_kserves_prefix(server: ModelServer, http: HttpCall) -> None:
    # The parser's wording differs (KServe uses orjson); status and prefix are what clients see.
    status, body = http("POST", f"{server.url}/v1/models/iris:predict", raw=b"{not json")
    assert status == 400 and body["error"].startswith("Unrecognized request format: ")


def test_successful_answers_have_kserves_shapes(server: ModelServer, http: HttpCall) -> None:
    status, body = http("POST", f"{server.url}/v1/models/iris:predict", {"instances": [ROW]})
    assert status == 200 and list(body) == ["predictions"] and len(body["predictions"]) == 1
    status, body = http(
        "POST", f"{server.url}/v2/models/iris/infer", {"id": "r1", "inputs": [TENSOR]}
    )
    assert status == 200
    assert list(body) == ["model_name", "model_version", "id", "parameters", "outputs"]
    assert {k: v for k, v in body["outputs"][0].items() if k != "data"} == {
        "name": "output-0",
        "shape": [1],
        "datatype": "INT64",
        "parameters": None,
    }
    status, body = http("GET", f"{server.url}/v2")
    assert status == 200 and body["name"] == "kserve"
    assert body["extensions"] == ["model_repository_extension"]


def test_metrics_have_kserves_families(server: ModelServer, http: HttpCall) -> None:
    http("POST", f"{server.url}/v1/models/iris:predict", {"instances": [ROW]})
    _, text = http("GET", f"{server.url}/metrics")
    types = {line for line in text.splitlines() if line.startswith("# TYPE")}
    for family in (
        "request_preprocess_seconds histogram",
        "request_predict_seconds histogram",
        "request_postprocess_seconds histogram",
        "request_explain_seconds histogram",
        "request_predict_seconds_created gauge",
        "process_cpu_seconds_total counter",
        "python_info gauge",
    ):
        assert f"# TYPE {family}" in types
    assert 'request_predict_seconds_bucket{le="0.005",model_name="iris"}' in text
