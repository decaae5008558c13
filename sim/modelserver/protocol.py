"""The KServe V1 and V2 REST protocols: request decoding and response bodies.

Shapes and messages follow KServe's Python model server: errors are `{"error": "<message>"}`,
an unknown model is a 404 "Model with name X does not exist.", a model that is not ready a 503
"Model with name X is not ready.", a body that is not JSON a 400 "Unrecognized request format",
and a V2 body that does not fit the inference-request schema a 422 with FastAPI's `detail` list.
Contents the model cannot use (wrong number of features) fail inside the model, which KServe 0.21
answers with a 500 `"<ExceptionType> : <message>"`; a V2 tensor whose data does not fit its shape
is a 400 InvalidInput. Checked against the `kserve` 0.21 package's server on the same requests.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from typing import Any

from sim.modelserver.iris import InvalidInstances, InvalidShape, flat_rows, rows_of

SERVER_NAME = "kserve"
SERVER_VERSION = "0.21.0"


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
        return error(500, "TypeError : list indices must be integers or slices, not str")
    instances = payload.get("instances", payload.get("inputs"))
    if instances is None:
        return error(500, "KeyError : 'instances'")
    try:
        return rows_of(instances)
    except InvalidInstances as exc:
        return error(500, f"ValueError : {exc}")


def v1_response(predictions: list[int]) -> Reply:
    return Reply(200, {"predictions": predictions})


def _validation_error(*details: dict[str, Any]) -> Reply:
    return Reply(422, {"detail": list(details)})


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
        reason = exc.msg if isinstance(exc, json.JSONDecodeError) else str(exc)
        return _validation_error(
            {
                "type": "json_invalid",
                "loc": ["body", exc.pos if isinstance(exc, json.JSONDecodeError) else 0],
                "msg": "JSON decode error",
                "input": {},
                "ctx": {"error": reason},
            }
        )
    # FastAPI validates the body against InferenceRequest | bytes: both failures are listed.
    not_bytes = {
        "type": "bytes_type",
        "loc": ["body", "bytes"],
        "msg": "Input should be a valid bytes",
        "input": payload,
    }
    if not isinstance(payload, dict):
        return _validation_error(
            {
                "type": "model_attributes_type",
                "loc": ["body", "InferenceRequest"],
                "msg": "Input should be a valid dictionary or object to extract fields from",
                "input": payload,
            },
            not_bytes,
        )
    inputs = payload.get("inputs")
    if not isinstance(inputs, list):
        return _validation_error(
            {
                "type": "missing" if inputs is None else "list_type",
                "loc": ["body", "InferenceRequest", "inputs"],
                "msg": "Field required" if inputs is None else "Input should be a valid list",
                "input": payload,
            },
            not_bytes,
        )
    for index, tensor in enumerate(inputs):
        fields = tensor if isinstance(tensor, dict) else {}
        missing = [f for f in ("name", "shape", "datatype", "data") if f not in fields]
        if missing:
            return _validation_error(
                {
                    "type": "missing",
                    "loc": ["body", "InferenceRequest", "inputs", index, missing[0]],
                    "msg": "Field required",
                    "input": tensor,
                },
                not_bytes,
            )
    if len(inputs) != 1:
        return error(400, f"Expected 1 input tensor, got {len(inputs)}")
    try:
        rows = flat_rows(inputs[0]["data"], inputs[0]["shape"])
    except InvalidShape as exc:
        return error(400, str(exc))
    except InvalidInstances as exc:
        return error(500, f"ValueError : {exc}")
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
            # KServe's Model reports no tensor types unless a model declares them.
            "inputs": [],
            "outputs": [],
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
