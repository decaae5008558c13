"""An HTTP exporter of Istio-like request metrics whose values a test scripts step by step.

Each pod has a request counter and a latency histogram (milliseconds) per response code, in the
names and labels Istio's sidecars use. A test records requests, restarts a pod (its counters go
back to zero, as a new process's do), removes a pod (its series vanish), and moves a `phase`
gauge so it can wait until Prometheus has scraped a given state.
"""

from __future__ import annotations

import bisect
import threading
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

BOUNDS_MS = (5.0, 50.0, 500.0)


@dataclass
class _Histogram:
    buckets: list[int] = field(default_factory=lambda: [0] * (len(BOUNDS_MS) + 1))
    total_ms: float = 0.0

    def observe(self, latency_ms: float, n: int) -> None:
        self.buckets[bisect.bisect_left(BOUNDS_MS, latency_ms)] += n
        self.total_ms += latency_ms * n


@dataclass
class _Pod:
    workload: str
    requests: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    latency: dict[str, _Histogram] = field(default_factory=lambda: defaultdict(_Histogram))


class ScriptedExporter:
    """Serves `/metrics` on a loopback port; `address` is the scrape target."""

    def __init__(self, namespace: str = "models") -> None:
        self.namespace = namespace
        self.phase = 0
        self._pods: dict[str, _Pod] = {}
        self._lock = threading.Lock()
        exporter = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                payload = exporter.exposition().encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/plain; version=0.0.4")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.02,), daemon=True
        )

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def serve(self, *, workload: str, pod: str, code: str, latency_ms: float, n: int = 1) -> None:
        """Count `n` requests answered with `code` after `latency_ms`."""
        with self._lock:
            state = self._pods.setdefault(pod, _Pod(workload))
            state.requests[code] += n
            state.latency[code].observe(latency_ms, n)

    def restart(self, pod: str) -> None:
        """The pod's process restarts: its counters start again from zero."""
        with self._lock:
            self._pods[pod] = _Pod(self._pods[pod].workload)

    def remove(self, pod: str) -> None:
        """The pod is gone: its series disappear from the exposition."""
        with self._lock:
            del self._pods[pod]

    def exposition(self) -> str:
        with self._lock:
            return "".join(self._lines())

    def _lines(self) -> Iterator[str]:
        yield "# TYPE kcanary_test_phase gauge\n"
        yield f"kcanary_test_phase {self.phase}\n"
        yield "# TYPE istio_requests_total counter\n"
        for pod, state in self._pods.items():
            for code, count in state.requests.items():
                yield f"istio_requests_total{{{self._labels(pod, state, code)}}} {count}\n"
        yield "# TYPE istio_request_duration_milliseconds histogram\n"
        for pod, state in self._pods.items():
            for code, histogram in state.latency.items():
                labels = self._labels(pod, state, code)
                cumulative = 0
                for bound, count in zip((*BOUNDS_MS, None), histogram.buckets, strict=True):
                    cumulative += count
                    le = "+Inf" if bound is None else f"{bound:g}"
                    yield (
                        f'istio_request_duration_milliseconds_bucket{{{labels},le="{le}"}} '
                        f"{cumulative}\n"
                    )
                yield f"istio_request_duration_milliseconds_sum{{{labels}}} {histogram.total_ms}\n"
                yield f"istio_request_duration_milliseconds_count{{{labels}}} {cumulative}\n"

    def _labels(self, pod: str, state: _Pod, code: str) -> str:
        return (
            f'reporter="destination",destination_workload="{state.workload}",'
            f'destination_workload_namespace="{self.namespace}",pod="{pod}",response_code="{code}"'
        )
