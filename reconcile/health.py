"""Liveness and readiness endpoints for the kubelet's probes.

`/healthz` answers 200 while the process serves (a wedged controller stops answering).
`/readyz` answers 200 once the caches have synced; a standby replica waiting for the lease is
ready too (it can take over at once), so a rolling update of the Deployment is not held up by it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class HealthServer:
    def __init__(self, host: str, port: int, ready: Callable[[], bool]) -> None:
        ready_check = ready

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if self.path == "/healthz":
                    self._answer(200, "ok")
                elif self.path == "/readyz":
                    ok = ready_check()
                    self._answer(200 if ok else 503, "ok" if ok else "caches not synced")
                else:
                    self._answer(404, "not found: try /healthz or /readyz")

            def _answer(self, code: int, text: str) -> None:
                body = (text + "\n").encode()
                self.send_response(code)
                self.send_header("Content-Type", "text/plain; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: object) -> None:
                return  # probes every few seconds would drown the controller's own logs

        self._server = ThreadingHTTPServer((host, port), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
