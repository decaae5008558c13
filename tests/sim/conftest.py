"""Fixtures for the local cluster's data plane: one event loop, model servers, a gateway."""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from sim.background_loop import BackgroundLoop
from sim.gateway import Gateway, PodDirectory
from sim.modelserver import ModelServerHost

SampleSum = Callable[..., float]


@pytest.fixture
def loop() -> Iterator[BackgroundLoop]:
    background = BackgroundLoop("test-sim")
    background.start()
    yield background
    background.stop()


@pytest.fixture
def host(loop: BackgroundLoop) -> Iterator[ModelServerHost]:
    servers = ModelServerHost(loop)
    servers.start()
    yield servers
    servers.stop()


@pytest.fixture
def directory() -> PodDirectory:
    return PodDirectory()


@pytest.fixture
def gateway(loop: BackgroundLoop, directory: PodDirectory) -> Iterator[Gateway]:
    entry = Gateway(directory, loop=loop, seed=7)
    entry.start()
    yield entry
    entry.stop()


_SAMPLE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)")
_LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def sum_samples(text: str, name: str, **labels: str) -> float:
    """Sum of the samples called `name` in exposition `text` whose labels include `labels`.

    Reads sample lines as Prometheus ingests them, names unchanged (prometheus-client's own
    parser renames counters that lack `_total`, which queue-proxy's do).
    """
    total = 0.0
    for line in text.splitlines():
        match = _SAMPLE.match(line)
        if match is None or match.group(1) != name:
            continue
        found = {k: v.replace('\\"', '"') for k, v in _LABEL.findall(match.group(2) or "")}
        if all(found.get(k) == v for k, v in labels.items()):
            total += float(match.group(3))
    return total


@pytest.fixture
def samples() -> SampleSum:
    return sum_samples


HttpCall = Callable[..., tuple[int, Any]]


def http_call(
    method: str, url: str, body: Any = None, *, raw: bytes | None = None, host: str | None = None
) -> tuple[int, Any]:
    """(status, decoded JSON body or text) of one HTTP request; errors are answers too."""
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    headers = {"Content-Type": "application/json"}
    if host is not None:
        headers["Host"] = host
    request = urllib.request.Request(url, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            status, payload = response.status, response.read()
    except urllib.error.HTTPError as error:
        status, payload = error.code, error.read()
    try:
        return status, json.loads(payload)
    except ValueError:
        return status, payload.decode()


@pytest.fixture
def http() -> HttpCall:
    return http_call
