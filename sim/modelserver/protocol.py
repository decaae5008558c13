"""The KServe V1 and V2 REST protocols: request decoding and response bodies.

Shapes and messages follow KServe's Python model server: errors are `{"error": "<message>"}`,
an unknown model is a 404 "Model with name X does not exist.", a model that is not ready a 503
"Model with name X is not ready.", a body that is not JSON a 400 "Unrecognized request format",
and a V2 body that does not fit the inference-request schema a 422 with FastAPI's `detail` list.
Contents the model cannot use (wrong number of features) fail inside the model: KServe's sklearn
server turns that into a 500 InferenceError for V1 and a 400 InvalidInput for V2 tensors.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from typing import Any

from sim.modelserver.iris import InvalidInstances, flat_rows, rows_of

SERVER_NAME = "kserve"
SERVER_VERSION = "0.15.0"


@dataclass(frozen=True)
class Reply:
    """An HTTP status and JSON body to send back."""

    status: int
    body: dict[str, Any]


def error(status: int, message: str) -> Reply:
    return Reply(status, {"error": message})


def model_not_found(name: str) -> Reply:
    return error(404, f"Model with name {name} does not exist.")


def model_not_ready(name: str) -> Reply:
    return error(503, f"Model with name {name} is not ready.")


def _decode(body: bytes) -> tuple[Any, Reply | None]:
    try:
        return json.loads(body), None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        return None, error(400, f"Unrecognized request format: {exc}")


def v1_rows(body: bytes) -> list[list[float]] | Reply:
    """The rows of a V1 predict body, or the error KServe answers it with."""
    payload, problem = _decode(body)
    if problem is not None:
        return problem
    if not isinstance(payload, dict):
        return error(500, 'Expected a JSON object with "instances" or "inputs"')
    instances = payload.get("instances", payload.get("inputs"))
    if instances is None:
        return error(500, "'instances'")
    try:
        return rows_of(instances)
    except InvalidInstances as exc:
        return error(500, str(exc))


def v1_response(predictions: list[int]) -> Reply:
    return Reply(200, {"predictions": predictions})


def _validation_error(location: list[str | int], message: str, kind: str) -> Reply:
    return Reply(422, {"detail": [{"type": kind, "loc": ["body", *location], "msg": message}]})


@dataclass(frozen=True)
class V2Request:
    """A decoded V2 inference request: its rows and the id to echo."""

    rows: list[list[float]]
    request_id: str


def v2_request(body: bytes) -> V2Request | Reply:
    """A V2 infer body with one FP32 tensor of shape [n, 4], or the error KServe answers it with."""
    try:
        payload = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        return _validation_error([0], f"JSON decode error: {exc}", "json_invalid")
    if not isinstance(payload, dict):
        return _validation_error([], "Input should be a valid dictionary", "model_attributes_type")
    inputs = payload.get("inputs")
    if not isinstance(inputs, list):
        return _validation_error(["inputs"], "Field required", "missing")
    for index, tensor in enumerate(inputs):
        if not isinstance(tensor, dict):
            return _validation_error(["inputs", index], "Input should be an object", "dict_type")
        for field in ("name", "shape", "datatype", "data"):
            if field not in tensor:
                return _validation_error(["inputs", index, field], "Field required", "missing")
    if len(inputs) != 1:
        return error(400, f"Expected 1 input tensor, got {len(inputs)}")
    try:
        rows = flat_rows(inputs[0]["data"], inputs[0]["shape"])
    except InvalidInstances as exc:
        return error(400, str(exc))
    return V2Request(rows=rows, request_id=str(payload.get("id") or uuid.uuid4()))


def v2_response(model_name: str, request_id: str, predictions: list[int]) -> Reply:
    return Reply(
        200,
        {
            "model_name": model_name,
            "model_version": None,
            "id": request_id,
            "parameters": None,
            "outputs": [
                {
                    "name": "output-0",
                    "shape": [len(predictions)],
                    "datatype": "INT64",
                    "parameters": None,
                    "data": predictions,
                }
            ],
        },
    )


def v2_model_metadata(model_name: str) -> Reply:
    return Reply(
        200,
        {
            "name": model_name,
            "versions": None,
            "platform": "",
            "inputs": [{"name": "input-0", "datatype": "FP32", "shape": [-1, 4]}],
            "outputs": [{"name": "output-0", "datatype": "INT64", "shape": [-1]}],
        },
    )


def v2_server_metadata() -> Reply:
    return Reply(
        200,
        {
            "name": SERVER_NAME,
            "version": SERVER_VERSION,
            "extensions": ["model_repository_extension"],
        },
    )
