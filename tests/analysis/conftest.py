"""Fixtures for the Prometheus source: HTTP stubs and a real Prometheus on a loopback port."""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import shutil
import socket
import ssl
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

PROMETHEUS_BINARY = shutil.which("prometheus") or "/usr/bin/prometheus"


@dataclass
class RecordedRequest:
    path: str
    params: dict[str, list[str]]
    headers: dict[str, str]


@dataclass
class StubPrometheus:
    """An HTTP server that answers every request with `status` and `body` and records them."""

    url: str = ""
    status: int = 200
    body: Any = field(default_factory=lambda: {"status": "success", "data": {
        "resultType": "matrix", "result": []}})
    requests: list[RecordedRequest] = field(default_factory=list)

    def answer(self, status: int, body: Any) -> None:
        self.status, self.body = status, body


def _serve(stub: StubPrometheus, context: ssl.SSLContext | None) -> Iterator[StubPrometheus]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            parsed = urllib.parse.urlsplit(self.path)
            stub.requests.append(
                RecordedRequest(parsed.path, urllib.parse.parse_qs(parsed.query),
                                dict(self.headers.items()))
            )
            payload = self.body_bytes()
            self.send_response(stub.status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def body_bytes(self) -> bytes:
            if isinstance(stub.body, bytes):
                return stub.body
            return json.dumps(stub.body).encode()

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    if context is not None:
        server.socket = context.wrap_socket(server.socket, server_side=True)
    scheme = "https" if context is not None else "http"
    stub.url = f"{scheme}://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    try:
        yield stub
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.fixture
def stub_prometheus() -> Iterator[StubPrometheus]:
    yield from _serve(StubPrometheus(), None)


@dataclass(frozen=True)
class TlsFiles:
    ca_file: Path
    cert_file: Path
    key_file: Path


@pytest.fixture
def tls_files(tmp_path: Path) -> TlsFiles:
    """A self-signed certificate for 127.0.0.1, which is its own CA."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "stub-prometheus")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(hours=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    cert_file = tmp_path / "cert.pem"
    key_file = tmp_path / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return TlsFiles(ca_file=cert_file, cert_file=cert_file, key_file=key_file)


@pytest.fixture
def stub_prometheus_tls(tls_files: TlsFiles) -> Iterator[StubPrometheus]:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(tls_files.cert_file, tls_files.key_file)
    yield from _serve(StubPrometheus(), context)


@pytest.fixture
def silent_server() -> Iterator[str]:
    """A URL whose server accepts connections (in the kernel backlog) and never answers."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        listener.close()


@pytest.fixture
def closed_port_url() -> str:
    """A loopback URL where nothing listens."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def poll(check: Callable[[], bool], *, timeout_s: float, what: str) -> None:
    """Wait until `check()` is true, or fail saying what did not happen."""
    deadline = time.monotonic() + timeout_s
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s}s waiting for {what}")
        time.sleep(0.05)


@dataclass
class RunningPrometheus:
    """A `prometheus` process with its own data directory; `url` is its HTTP API."""

    url: str
    process: subprocess.Popen[bytes]
    log_file: Path

    def instant(self, query: str) -> list[dict[str, Any]]:
        """An instant query at the current time (a test helper, not the code under test)."""
        address = f"{self.url}/api/v1/query?" + urllib.parse.urlencode({"query": query})
        with urllib.request.urlopen(address, timeout=5) as response:
            result: list[dict[str, Any]] = json.load(response)["data"]["result"]
            return result


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _ready(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/-/ready", timeout=1) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return False


@pytest.fixture
def run_prometheus() -> Iterator[Callable[[list[str]], RunningPrometheus]]:
    """Start the real `prometheus` binary scraping the given host:port targets every second."""
    started: list[tuple[subprocess.Popen[bytes], Path]] = []

    def start(targets: list[str]) -> RunningPrometheus:
        workdir = Path(tempfile.mkdtemp(prefix="kcanary-prometheus-"))
        config = workdir / "prometheus.yml"
        config.write_text(
            json.dumps(  # JSON is YAML
                {
                    "global": {"scrape_interval": "1s", "scrape_timeout": "1s"},
                    "scrape_configs": [
                        {"job_name": "scripted", "static_configs": [{"targets": targets}]}
                    ],
                }
            )
        )
        port = _free_port()
        log_file = workdir / "prometheus.log"
        with log_file.open("wb") as log:
            process = subprocess.Popen(
                [
                    PROMETHEUS_BINARY,
                    f"--config.file={config}",
                    f"--storage.tsdb.path={workdir / 'data'}",
                    f"--web.listen-address=127.0.0.1:{port}",
                    "--log.level=warn",
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        started.append((process, workdir))
        url = f"http://127.0.0.1:{port}"

        def up() -> bool:
            if process.poll() is not None:
                raise AssertionError(
                    f"prometheus exited with {process.returncode}: {log_file.read_text()}"
                )
            return _ready(url)

        poll(up, timeout_s=20, what="prometheus to be ready")
        return RunningPrometheus(url=url, process=process, log_file=log_file)

    try:
        yield start
    finally:
        for process, workdir in started:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)
            shutil.rmtree(workdir, ignore_errors=True)
