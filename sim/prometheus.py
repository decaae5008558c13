"""The real Prometheus, run on a free loopback port with its own data folder.

The local cluster scrapes its model servers, its gateway and anything a test registers through
Prometheus's file-based service discovery: the runner rewrites one JSON file atomically (write,
then rename) as targets come and go, and Prometheus picks the change up through its file watch.
Scrapes run every second. `start()` returns only once the first scrape of every current target
has landed, by polling Prometheus's targets API; nothing sleeps for a fixed time.

For outage tests the process can be frozen (SIGSTOP: it hangs, as an overloaded server does),
thawed, stopped and started again on the same port and data folder (its data survives).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import Any

from sim.ports import listen_port

PROMETHEUS_BINARY = "prometheus"
INSTALL_HINT = "apt-get install --no-install-recommends prometheus"


class PrometheusError(RuntimeError):
    """Prometheus could not be started, or did not become ready."""


@dataclass(frozen=True)
class ScrapeTarget:
    """A scrape endpoint (`host:port`) and the target labels Prometheus puts on its series."""

    address: str
    labels: Mapping[str, str] = field(default_factory=dict)
    metrics_path: str = "/metrics"


def find_binary(binary: str | None = None) -> str:
    """The path of the prometheus binary, or a PrometheusError saying how to install it."""
    found = shutil.which(binary or PROMETHEUS_BINARY)
    if found is None:
        raise PrometheusError(
            f"the prometheus binary ({binary or PROMETHEUS_BINARY}) is not on PATH; install it "
            f"with `{INSTALL_HINT}` (Debian/Ubuntu) or put a Prometheus 2.x binary on PATH"
        )
    return found


class PrometheusRunner:
    """A Prometheus process scraping file-discovered targets every second."""

    def __init__(
        self,
        *,
        binary: str | None = None,
        scrape_interval_s: float = 1.0,
        job_name: str = "local-cluster",
    ) -> None:
        self._binary = binary
        self._interval_s = scrape_interval_s
        self._job = job_name
        self._targets: dict[str, ScrapeTarget] = {}
        self._process: subprocess.Popen[bytes] | None = None
        self._folder: Path | None = None
        self.port = 0

    def __enter__(self) -> PrometheusRunner:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def folder(self) -> Path | None:
        """The temporary folder with config, targets file, data and log (None when stopped)."""
        return self._folder

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    # --- targets ---

    def set_targets(self, targets: Iterable[ScrapeTarget]) -> None:
        """Replace the scraped targets (takes effect within Prometheus's file watch)."""
        self._targets = {t.address: t for t in targets}
        self._write_targets()

    def add_target(self, target: ScrapeTarget) -> None:
        self._targets[target.address] = target
        self._write_targets()

    def remove_target(self, address: str) -> None:
        self._targets.pop(address, None)
        self._write_targets()

    def _write_targets(self) -> None:
        if self._folder is None:
            return
        groups = [
            {
                "targets": [t.address],
                "labels": {**t.labels, "__metrics_path__": t.metrics_path},
            }
            for t in self._targets.values()
        ]
        path = self._folder / "targets.json"
        partial = self._folder / "targets.json.tmp"
        partial.write_text(json.dumps(groups, indent=1))
        os.replace(partial, path)  # atomic: Prometheus never reads a half-written file

    # --- lifecycle ---

    def start(self, timeout_s: float = 30.0) -> None:
        """Start on a free port with a new data folder; return once every target was scraped."""
        if self._process is not None:
            return
        binary = find_binary(self._binary)
        self._folder = Path(tempfile.mkdtemp(prefix="kcanary-prometheus-"))
        (self._folder / "data").mkdir()
        self._write_config()
        self._write_targets()
        self.port = listen_port()
        self._launch(binary)
        self.wait_ready(timeout_s)

    def _write_config(self) -> None:
        assert self._folder is not None
        interval = f"{int(self._interval_s * 1000)}ms"
        timeout = f"{int(self._interval_s * 800)}ms"  # scrape_timeout must be < interval
        config = (
            "global:\n"
            f"  scrape_interval: {interval}\n"
            f"  scrape_timeout: {timeout}\n"
            f"  evaluation_interval: {interval}\n"
            "scrape_configs:\n"
            f"  - job_name: {json.dumps(self._job)}\n"
            "    file_sd_configs:\n"
            f"      - files: [{json.dumps(str(self._folder / 'targets.json'))}]\n"
            "        refresh_interval: 1s\n"
        )
        (self._folder / "prometheus.yml").write_text(config)

    def _launch(self, binary: str) -> None:
        assert self._folder is not None
        log = (self._folder / "prometheus.log").open("ab")
        try:
            self._process = subprocess.Popen(
                [
                    binary,
                    f"--config.file={self._folder / 'prometheus.yml'}",
                    f"--storage.tsdb.path={self._folder / 'data'}",
                    f"--web.listen-address=127.0.0.1:{self.port}",
                    "--log.level=warn",
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
        finally:
            log.close()

    def wait_ready(self, timeout_s: float = 30.0) -> None:
        """Wait until Prometheus answers and has scraped every current target at least once."""
        deadline = time.monotonic() + timeout_s
        while True:
            self._check_alive()
            if self._all_scraped():
                return
            if time.monotonic() > deadline:
                raise PrometheusError(
                    f"Prometheus on port {self.port} did not scrape its targets within "
                    f"{timeout_s:.0f}s; see {self._folder}/prometheus.log"
                )
            time.sleep(0.05)  # poll interval, not a wait for something

    def wait_for_scrape(self, address: str, timeout_s: float = 30.0) -> None:
        """Wait until a scrape of `address` newer than now has landed."""
        since = time.time()
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            self._check_alive()
            for target in self._active_targets() or []:
                if target.get("scrapeUrl", "").split("/")[2] == address and _scraped_after(
                    target, since
                ):
                    return
            time.sleep(0.05)
        raise PrometheusError(f"no scrape of {address} landed within {timeout_s:.0f}s")

    def _check_alive(self) -> None:
        if self._process is None:
            raise PrometheusError("Prometheus is not running; call start() or start_again()")
        code = self._process.poll()
        if code is not None:
            log = (self._folder / "prometheus.log") if self._folder else None
            tail = log.read_text()[-2000:] if log and log.exists() else ""
            raise PrometheusError(f"Prometheus exited with code {code}:\n{tail}")

    def _active_targets(self) -> list[dict[str, Any]] | None:
        try:
            with urllib.request.urlopen(self.url + "/api/v1/targets?state=active", timeout=2) as r:
                payload = json.load(r)
        except (urllib.error.URLError, OSError, ValueError):
            return None
        return list(payload.get("data", {}).get("activeTargets", []))

    def _all_scraped(self) -> bool:
        active = self._active_targets()
        if active is None:
            return False
        scraped = {
            t.get("scrapeUrl", "").split("/")[2]
            for t in active
            if t.get("health") in ("up", "down") and _scraped_after(t, 0)
        }
        return set(self._targets) <= scraped

    def query(self, promql: str, at: float | None = None) -> list[dict[str, Any]]:
        """Run an instant query and return its result vector (for tests and checks)."""
        params = {"query": promql}
        if at is not None:
            params["time"] = str(at)
        url = self.url + "/api/v1/query?" + urllib.parse.urlencode(params)
        with urllib.request.urlopen(url, timeout=5) as response:
            payload = json.load(response)
        return list(payload["data"]["result"])

    def freeze(self) -> None:
        """SIGSTOP: the port stays open but nothing answers, as with a hung server.

        Returns once every thread has stopped (signals are delivered asynchronously).
        """
        if self._process is not None:
            self._process.send_signal(signal.SIGSTOP)
            self._wait_state(self._process.pid, stopped=True)

    def thaw(self) -> None:
        """SIGCONT after `freeze()`; returns once the process runs again."""
        if self._process is not None:
            self._process.send_signal(signal.SIGCONT)
            self._wait_state(self._process.pid, stopped=False)

    @staticmethod
    def _wait_state(pid: int, *, stopped: bool, timeout_s: float = 5.0) -> None:
        """Poll the kernel's view of `pid`'s threads until all are (or none is) stopped."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            frozen = [state in ("T", "t") for state in _thread_states(pid)]
            if not frozen or (all(frozen) if stopped else not any(frozen)):
                return  # no /proc (not Linux) or process gone: nothing more to wait for
            time.sleep(0.01)
        raise PrometheusError(f"Prometheus (pid {pid}) did not {'stop' if stopped else 'resume'}")

    def stop_process(self, timeout_s: float = 15.0) -> None:
        """Stop the process but keep port number, config and data for `start_again()`."""
        process, self._process = self._process, None
        if process is None:
            return
        process.send_signal(signal.SIGCONT)  # a frozen process cannot handle SIGTERM
        process.terminate()
        try:
            process.wait(timeout_s)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def start_again(self, timeout_s: float = 30.0) -> None:
        """Start on the same port and data folder after `stop_process()`."""
        if self._process is not None:
            return
        if self._folder is None:
            raise PrometheusError("start_again() needs a previous start(); call start()")
        self._launch(find_binary(self._binary))
        self.wait_ready(timeout_s)

    def stop(self) -> None:
        """Stop the process and delete its folder."""
        self.stop_process()
        if self._folder is not None:
            shutil.rmtree(self._folder, ignore_errors=True)
            self._folder = None


def _thread_states(pid: int) -> list[str]:
    """The state letter (R, S, T, ...) of each thread of `pid`, from /proc."""
    states = []
    try:
        threads = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return []
    for tid in threads:
        try:
            stat = Path(f"/proc/{pid}/task/{tid}/stat").read_text()
        except OSError:
            continue  # the thread ended meanwhile
        states.append(stat.rsplit(")", 1)[1].split()[0])
    return states


def _scraped_after(target: Mapping[str, Any], since: float) -> bool:
    """Whether the target's last scrape happened after `since` (Unix time; 0 = ever)."""
    last = str(target.get("lastScrape", ""))
    if not last or last.startswith("0001-"):  # Go's zero time: never scraped
        return False
    return since <= 0 or _unix_time(last) > since


def _unix_time(rfc3339: str) -> float:
    # Go writes nanoseconds; Python's fromisoformat takes at most microseconds.
    match = re.fullmatch(r"(.*T\d\d:\d\d:\d\d)(\.\d+)?(Z|[+-]\d\d:\d\d)", rfc3339)
    if match is None:
        return 0.0
    base, fraction, zone = match.groups()
    zone = "+00:00" if zone == "Z" else zone
    return datetime.fromisoformat(f"{base}{(fraction or '')[:7]}{zone}").timestamp()
