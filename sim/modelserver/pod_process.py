"""The process series a KServe model server exports (`process_*`), as one pod's own.

KServe serves prometheus-client's default registry, whose process collector reads the process's
`/proc` entries. The local cluster runs every pod in one Python process, so that collector would
report the whole test process (thousands of sockets) to every pod, and list all its file
descriptors on every scrape of every pod: a cost that grows with the cluster and, under load,
starves the loop that serves the pods. This collector reports the same families for the pod
alone: its container's start time, and CPU time and memory that grow with the requests it served.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

CPU_SECONDS_PER_REQUEST = 0.002
BASE_RESIDENT_BYTES = 180 * 1024 * 1024
OPEN_FDS = 24
MAX_FDS = 1_048_576


class PodProcessCollector(Collector):
    """process_cpu_seconds_total, process_start_time_seconds, process_open_fds,
    process_max_fds, process_resident_memory_bytes, process_virtual_memory_bytes."""

    def __init__(self, served: Callable[[], int], started_at: float | None = None) -> None:
        self._served = served
        self._started_at = time.time() if started_at is None else started_at

    def collect(self) -> Iterator[CounterMetricFamily | GaugeMetricFamily]:
        served = self._served()
        resident = BASE_RESIDENT_BYTES + 1024 * served
        yield CounterMetricFamily(
            "process_cpu_seconds_total",
            "Total user and system CPU time spent in seconds.",
            value=0.5 + CPU_SECONDS_PER_REQUEST * served,
        )
        yield GaugeMetricFamily(
            "process_start_time_seconds",
            "Start time of the process since unix epoch in seconds.",
            value=self._started_at,
        )
        yield GaugeMetricFamily(
            "process_open_fds", "Number of open file descriptors.", value=OPEN_FDS
        )
        yield GaugeMetricFamily(
            "process_max_fds", "Maximum number of open file descriptors.", value=MAX_FDS
        )
        yield GaugeMetricFamily(
            "process_resident_memory_bytes", "Resident memory size in bytes.", value=resident
        )
        yield GaugeMetricFamily(
            "process_virtual_memory_bytes", "Virtual memory size in bytes.", value=4 * resident
        )
