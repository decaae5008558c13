"""Fault switches: injected 429s and 500s, latency, and request counting."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
import requests

from sim.apiserver.server import APIServer


@pytest.fixture
def faults_reset(api_server: APIServer) -> Iterator[APIServer]:
    try:
        yield api_server
    finally:
        api_server.faults.reset()


def test_an_error_rate_of_one_fails_resource_requests_with_429_and_retry_after(
    namespace: str, faults_reset: APIServer, http: requests.Session
) -> None:
    server = faults_reset
    server.faults.error_rate = 1.0
    server.faults.error_code = 429
    server.faults.retry_after_seconds = 3
    response = http.get(f"{server.url}/api/v1/namespaces/{namespace}/configmaps")
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "3"
    assert response.json()["reason"] == "TooManyRequests"
    # discovery keeps working, so clients can still find their way
    assert http.get(f"{server.url}/api/v1").status_code == 200


def test_injected_500s_and_latency(
    namespace: str, faults_reset: APIServer, http: requests.Session
) -> None:
    server = faults_reset
    url = f"{server.url}/api/v1/namespaces/{namespace}/configmaps"
    server.faults.error_rate = 1.0
    failed = http.get(url)
    assert failed.status_code == 500
    assert failed.json()["reason"] == "InternalError"
    server.faults.error_rate = 0.0
    server.faults.latency = 0.3
    started = time.monotonic()
    assert http.get(url).status_code == 200
    assert time.monotonic() - started >= 0.3


def test_requests_are_counted_per_verb_and_resource(
    api_server: APIServer, http: requests.Session, namespace: str
) -> None:
    url = f"{api_server.url}/api/v1/namespaces/{namespace}/configmaps"
    before = api_server.requests.writes("configmaps", namespace=namespace)
    http.post(url, json={"metadata": {"name": "counted"}})
    http.get(f"{url}/counted")
    http.patch(
        f"{url}/counted", data="{}", headers={"Content-Type": "application/merge-patch+json"}
    )
    assert api_server.requests.writes("configmaps", namespace=namespace) == before + 2
    assert api_server.requests.count("get", "configmaps", namespace=namespace) >= 1
