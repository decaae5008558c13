"""Fixtures for the Prometheus source: HTTP stand-ins and a real Prometheus on a loopback port."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from prometheus_process import PrometheusProcess
from stub_prometheus import (
    StubPrometheus,
    TlsFiles,
    self_signed_tls,
    serving,
    silent_listener,
)

from sim.ports import listen_port


@pytest.fixture
def stub_prometheus() -> Iterator[StubPrometheus]:
    with serving(StubPrometheus()) as stub:
        yield stub


@pytest.fixture
def tls_files(tmp_path: Path) -> TlsFiles:
    return self_signed_tls(tmp_path)


@pytest.fixture
def stub_prometheus_tls(tls_files: TlsFiles) -> Iterator[StubPrometheus]:
    with serving(StubPrometheus(), tls_files.server_context()) as stub:
        yield stub


@pytest.fixture
def silent_server() -> Iterator[str]:
    with silent_listener() as url:
        yield url


@pytest.fixture
def closed_port_url() -> str:
    return f"http://127.0.0.1:{listen_port()}"


@pytest.fixture
def run_prometheus() -> Iterator[Callable[[list[str]], PrometheusProcess]]:
    """Start the real `prometheus` binary scraping host:port targets every second; stopped after."""
    started: list[PrometheusProcess] = []

    def start(targets: list[str]) -> PrometheusProcess:
        process = PrometheusProcess(targets)
        started.append(process)
        return process.start()

    try:
        yield start
    finally:
        for process in started:
            process.stop()
