"""A TLS reverse proxy in front of a real Prometheus that wants a bearer token and a tenant header,
as a Prometheus behind an authenticating gateway (Cortex, Mimir, Thanos, a managed service) does.

It listens on 127.0.0.1 only, with a certificate from a private CA made at test time (trustme).
A request without `Authorization: Bearer <token>` gets 401, one without the tenant header 403,
both with Prometheus' JSON error body; anything else is passed to Prometheus and its answer back.
"""

from __future__ import annotations

import json
import ssl
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import trustme

TENANT_HEADER = "X-Scope-OrgID"


@dataclass(frozen=True)
class TlsProxy:
    """Where the proxy listens and what it wants."""

    url: str
    ca_file: Path
    token: str
    tenant: str


@contextmanager
def tls_proxy(upstream: str, directory: Path, *, token: str, tenant: str) -> Iterator[TlsProxy]:
    """Serve the proxy to `upstream` until the block ends, then stop it and free its port."""
    ca = trustme.CA()
    ca_file = directory / "proxy-ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ca.issue_cert("127.0.0.1").configure_cert(context)

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.headers.get("Authorization") != f"Bearer {token}":
                self._refuse(401, "missing or wrong bearer token")
            elif self.headers.get(TENANT_HEADER) != tenant:
                self._refuse(403, f"no {TENANT_HEADER} header for a known tenant")
            else:
                self._forward()

        def _forward(self) -> None:
            try:
                with urllib.request.urlopen(upstream + self.path, timeout=10) as answer:
                    self._send(answer.status, answer.read())
            except urllib.error.HTTPError as refused:
                self._send(refused.code, refused.read())

        def _refuse(self, status: int, error: str) -> None:
            body = {"status": "error", "errorType": "unauthorized", "error": error}
            self._send(status, json.dumps(body).encode())

        def _send(self, status: int, payload: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, name="tls-proxy", daemon=True)
    thread.start()
    try:
        yield TlsProxy(f"https://127.0.0.1:{server.server_port}", ca_file, token, tenant)
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
