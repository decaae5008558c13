"""Bad requests get the Status a real API server gives, and leave the store intact."""

from __future__ import annotations

import json

import requests

from sim.apiserver.server import APIServer

ISVCS = "/apis/serving.kserve.io/v1beta1/namespaces/{ns}/inferenceservices"


def _isvc(name: str, **spec: object) -> dict[str, object]:
    return {
        "apiVersion": "serving.kserve.io/v1beta1",
        "kind": "InferenceService",
        "metadata": {"name": name},
        "spec": spec or {"predictor": {"model": {"storageUri": "s3://m/v1"}}},
    }


def _status(response: requests.Response) -> dict[str, object]:
    body: dict[str, object] = response.json()
    assert body["kind"] == "Status"
    assert body["apiVersion"] == "v1"
    assert body["status"] == "Failure"
    assert body["code"] == response.status_code
    return body


def test_requests_without_the_token_are_unauthorized(api_server: APIServer) -> None:
    response = requests.get(
        f"{api_server.url}/api/v1/namespaces", verify=str(api_server.ca_path), timeout=10
    )
    assert response.status_code == 401
    assert response.json() == {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": "Unauthorized",
        "reason": "Unauthorized",
        "code": 401,
    }


def test_malformed_json_is_a_bad_request(
    api_server: APIServer, http: requests.Session, namespace: str
) -> None:
    url = api_server.url + ISVCS.format(ns=namespace)
    response = http.post(url, data='{"apiVersion": ', headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    body = _status(response)
    assert body["reason"] == "BadRequest"
    assert body["message"] == (
        "couldn't get version/kind; json parse error: unexpected end of JSON input"
    )
    response = http.post(url, data="{bad}", headers={"Content-Type": "application/json"})
    assert _status(response)["message"] == (
        "couldn't get version/kind; json parse error: invalid character 'b' looking for "
        "beginning of object key string"
    )
    assert http.get(url).json()["items"] == []


def test_an_unknown_resource_is_not_found(api_server: APIServer, http: requests.Session) -> None:
    for path in (
        "/apis/serving.kserve.io/v1beta1/namespaces/default/inferenceservicez",
        "/apis/nothing.example.com/v1/widgets",
        "/api/v1/namespaces/default/pods",
    ):
        response = http.get(api_server.url + path)
        assert response.status_code == 404
        assert _status(response) == {
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": "the server could not find the requested resource",
            "reason": "NotFound",
            "details": {},
            "code": 404,
        }


def test_a_missing_object_is_not_found_with_its_qualified_name(
    api_server: APIServer, http: requests.Session, namespace: str
) -> None:
    response = http.get(api_server.url + ISVCS.format(ns=namespace) + "/iris")
    assert response.status_code == 404
    body = _status(response)
    assert body["message"] == 'inferenceservices.serving.kserve.io "iris" not found'
    assert body["details"] == {
        "name": "iris",
        "group": "serving.kserve.io",
        "kind": "inferenceservices",
    }


def test_a_wrong_content_type_is_unsupported(
    api_server: APIServer, http: requests.Session, namespace: str
) -> None:
    url = api_server.url + ISVCS.format(ns=namespace)
    response = http.post(url, data=json.dumps(_isvc("x")), headers={"Content-Type": "text/plain"})
    assert response.status_code == 415
    body = _status(response)
    assert body["reason"] == "UnsupportedMediaType"
    assert body["message"] == (
        "the body of the request was in an unknown format - accepted media types include: "
        "application/json, application/yaml"
    )
    created = http.post(url, json=_isvc("x"))
    assert created.status_code == 201
    strategic = http.patch(
        f"{url}/x", data="{}", headers={"Content-Type": "application/strategic-merge-patch+json"}
    )
    assert strategic.status_code == 415
    assert _status(strategic)["message"] == (
        "the body of the request was in an unknown format - accepted media types include: "
        "application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml"
    )


def test_an_invalid_object_is_unprocessable_with_causes(
    api_server: APIServer, http: requests.Session, namespace: str
) -> None:
    url = api_server.url + ISVCS.format(ns=namespace)
    response = http.post(url, json=_isvc("Bad_Name"))
    assert response.status_code == 422
    body = _status(response)
    assert body["reason"] == "Invalid"
    assert str(body["message"]).startswith(
        'InferenceService.serving.kserve.io "Bad_Name" is invalid: metadata.name: Invalid value: '
        '"Bad_Name": a lowercase RFC 1123 subdomain must consist of'
    )
    details = body["details"]
    assert isinstance(details, dict)
    assert details["kind"] == "InferenceService"
    assert details["causes"][0]["field"] == "metadata.name"
    assert details["causes"][0]["reason"] == "FieldValueInvalid"


def test_annotations_over_256_kib_are_invalid(
    api_server: APIServer, http: requests.Session, namespace: str
) -> None:
    url = f"{api_server.url}/api/v1/namespaces/{namespace}/configmaps"
    body = {"metadata": {"name": "big", "annotations": {"a": "x" * (256 * 1024)}}}
    response = http.post(url, json=body)
    assert response.status_code == 422
    message = _status(response)["message"]
    assert str(message).startswith('ConfigMap "big" is invalid: metadata.annotations: Too long')


def test_unknown_fields_warn_and_are_dropped_unless_strict(
    api_server: APIServer, http: requests.Session, namespace: str
) -> None:
    url = api_server.url + ISVCS.format(ns=namespace)
    document = _isvc("warned")
    document["spce"] = {"x": 1}
    warned = http.post(url, json=document)
    assert warned.status_code == 201
    assert warned.headers["Warning"] == '299 - "unknown field \\"spce\\""'
    assert "spce" not in warned.json()

    document["metadata"] = {"name": "strict"}
    strict = http.post(url, params={"fieldValidation": "Strict"}, json=document)
    assert strict.status_code == 400
    assert _status(strict)["message"] == (
        'InferenceService in version "v1beta1" cannot be handled as a InferenceService: '
        'strict decoding error: unknown field "spce"'
    )
    document["metadata"] = {"name": "ignored"}
    ignored = http.post(url, params={"fieldValidation": "Ignore"}, json=document)
    assert ignored.status_code == 201
    assert "Warning" not in ignored.headers


def test_objects_in_a_missing_namespace_are_refused(
    api_server: APIServer, http: requests.Session
) -> None:
    response = http.post(api_server.url + ISVCS.format(ns="no-such-ns"), json=_isvc("x"))
    assert response.status_code == 404
    assert _status(response)["message"] == 'namespaces "no-such-ns" not found'


def test_dry_run_does_not_persist(
    api_server: APIServer, http: requests.Session, namespace: str
) -> None:
    url = api_server.url + ISVCS.format(ns=namespace)
    response = http.post(url, params={"dryRun": "All"}, json=_isvc("dry"))
    assert response.status_code == 201
    assert response.json()["metadata"]["name"] == "dry"
    assert http.get(f"{url}/dry").status_code == 404


def test_verbs_a_path_does_not_take_are_not_allowed(
    api_server: APIServer, http: requests.Session, namespace: str
) -> None:
    collection = f"{api_server.url}/api/v1/namespaces/{namespace}/configmaps"
    for method, url in (("POST", f"{collection}/named"), ("PUT", collection)):
        response = http.request(method, url, json={"metadata": {"name": "named"}})
        assert response.status_code == 405
        assert _status(response)["message"] == (
            "the server does not allow this method on the requested resource"
        )
    assert http.get(collection).json()["items"] == []
