"""The real `prometheus` binary on a loopback port, scraping given targets every second.

Each instance has its own temporary data directory and configuration, removed when it stops. The
lifecycle API stays off (the default), and readiness is polled on `/-/ready`, never slept for.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

from polling import wait_until

from sim.ports import listen_port

# The Debian package (or any `prometheus` on PATH); a missing binary fails the test loudly.
PROMETHEUS_BINARY = shutil.which("prometheus") or "prometheus"


class PrometheusProcess:
    """One running Prometheus; `url` is its HTTP API. Use `start` and `stop` (or `with`)."""

    def __init__(self, targets: list[str], *, scrape_interval_s: int = 1) -> None:
        self._targets = targets
        self._interval = f"{scrape_interval_s}s"
        self._workdir = Path(tempfile.mkdtemp(prefix="kcanary-prometheus-"))
        self._process: subprocess.Popen[bytes] | None = None
        self.url = ""

    @property
    def log(self) -> str:
        log_file = self._workdir / "prometheus.log"
        return log_file.read_text() if log_file.exists() else ""

    def start(self, *, timeout_s: float = 20) -> PrometheusProcess:
        config = self._workdir / "prometheus.yml"
        config.write_text(
            json.dumps(  # JSON is YAML
                {
                    "global": {"scrape_interval": self._interval, "scrape_timeout": self._interval},
                    "scrape_configs": [
                        {"job_name": "scripted", "static_configs": [{"targets": self._targets}]}
                    ],
                }
            )
        )
        # The free port can be taken between probing and binding: try a few.
        for _attempt in range(3):
            port = listen_port()
            with (self._workdir / "prometheus.log").open("wb") as log:
                self._process = subprocess.Popen(
                    [
                        PROMETHEUS_BINARY,
                        f"--config.file={config}",
                        f"--storage.tsdb.path={self._workdir / 'data'}",
                        f"--web.listen-address=127.0.0.1:{port}",
                        "--log.level=warn",
                    ],
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )
            self.url = f"http://127.0.0.1:{port}"
            wait_until(self._ready_or_exited, timeout_s=timeout_s, what="prometheus to be ready")
            if self._process.poll() is None:
                return self
            if "address already in use" not in self.log:
                break
        raise AssertionError(f"prometheus did not start: {self.log}")

    def _ready_or_exited(self) -> bool:
        assert self._process is not None
        if self._process.poll() is not None:
            return True
        try:
            with urllib.request.urlopen(f"{self.url}/-/ready", timeout=1) as response:
                return bool(response.status == 200)
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            return False

    def stop(self) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait(timeout=5)
        shutil.rmtree(self._workdir, ignore_errors=True)

    def __enter__(self) -> PrometheusProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def instant(self, query: str) -> list[dict[str, Any]]:
        """An instant query at the current time (a test helper, not the code under test)."""
        address = f"{self.url}/api/v1/query?" + urllib.parse.urlencode({"query": query})
        with urllib.request.urlopen(address, timeout=5) as response:
            result: list[dict[str, Any]] = json.load(response)["data"]["result"]
            return result
