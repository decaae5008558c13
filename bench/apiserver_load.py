"""Load the local API server: thousands of InferenceServices, a hundred watchers.

The API server runs alone (`python -m sim.apiserver`) in its own process, so its figures are
not mixed with the load generator's CPU nor with the other parts of the local cluster. The
generator is one asyncio process: it opens the watchers, creates the objects, then patches,
gets and lists them with a fixed concurrency, and reports latency percentiles, sustained writes
per second, how long a change takes to reach the watchers, and the server's resident memory.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import random
import signal
import ssl
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import yaml

RESULTS_DIR = Path(__file__).resolve().parent / "results"
GROUP_PATH = "/apis/serving.kserve.io/v1beta1"
SENT_AT = "bench.kcanary.io/sent-at"


def _count(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, not {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected at least 1, not {value}")
    return value


def _count_or_zero(text: str) -> int:
    return 0 if text.strip() == "0" else _count(text)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--objects", type=_count, default=2000, help="InferenceServices to create")
    parser.add_argument("--namespaces", type=_count, default=20, help="namespaces to spread them")
    parser.add_argument(
        "--watchers", type=_count_or_zero, default=100, help="concurrent watch streams"
    )
    parser.add_argument("--patches", type=_count, default=4000, help="PATCH requests to send")
    parser.add_argument("--gets", type=_count, default=2000, help="GET requests to send")
    parser.add_argument("--lists", type=_count, default=100, help="LIST requests per kind of list")
    parser.add_argument("--concurrency", type=_count, default=32, help="requests in flight")
    parser.add_argument("--parsed-watchers", type=_count_or_zero, default=10,
                        help="watchers that decode every event to time its delivery")  # fmt: skip
    parser.add_argument("--output-dir", type=Path, default=RESULTS_DIR)
    parser.add_argument("--seed", type=int, default=1)


@dataclass(frozen=True)
class Percentiles:
    count: int
    p50_ms: float
    p99_ms: float
    max_ms: float

    @staticmethod
    def of(samples: list[float]) -> Percentiles:
        if not samples:
            return Percentiles(0, 0.0, 0.0, 0.0)
        ordered = sorted(samples)

        def at(q: float) -> float:
            return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000, 2)

        return Percentiles(len(ordered), at(0.50), at(0.99), round(ordered[-1] * 1000, 2))


@dataclass(frozen=True)
class Results:
    objects: int
    watchers: int
    concurrency: int
    cpus: int
    create: Percentiles
    create_writes_per_second: float
    patch: Percentiles
    patch_writes_per_second: float
    patch_without_watchers: Percentiles
    patch_without_watchers_per_second: float
    get: Percentiles
    list_namespace: Percentiles
    list_all: Percentiles
    watch_delay: Percentiles
    watch_events_delivered: int
    server_rss_mib: float
    server_cpu_seconds: float
    generator_cpu_seconds: float
    server_cpu_ms_per_write: float
    notes: list[str] = field(default_factory=list)


# the server under test


@dataclass(frozen=True)
class Target:
    url: str
    token: str
    ca_pem: bytes
    pid: int


def start_server(directory: Path) -> tuple[subprocess.Popen[str], Target]:
    kubeconfig = directory / "kubeconfig"
    process = subprocess.Popen(
        [sys.executable, "-m", "sim.apiserver", "--kubeconfig", str(kubeconfig)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    url = ""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            raise RuntimeError("the API server exited before it was ready")
        if line.startswith("api-server: "):
            url = line.split(": ", 1)[1].strip()
        if line.strip() == "ready":
            break
    config = yaml.safe_load(kubeconfig.read_text())
    ca_pem = base64.b64decode(config["clusters"][0]["cluster"]["certificate-authority-data"])
    token = config["users"][0]["user"]["token"]
    return process, Target(url=url, token=token, ca_pem=ca_pem, pid=process.pid)


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time a process has used so far."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_mib(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        pass
    return 0.0


# load


def isvc(name: str, namespace: str) -> dict[str, Any]:
    return {
        "apiVersion": "serving.kserve.io/v1beta1",
        "kind": "InferenceService",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "labels": {"app": name, "team": "bench"},
            "annotations": {"serving.kserve.io/deploymentMode": "RawDeployment"},
        },
        "spec": {
            "predictor": {
                "minReplicas": 1,
                "model": {
                    "modelFormat": {"name": "sklearn"},
                    "storageUri": f"s3://models/{name}/v1",
                    "resources": {"requests": {"cpu": "100m", "memory": "256Mi"}},
                },
            }
        },
    }


async def run_bounded(
    count: int, concurrency: int, work: Callable[[int], Awaitable[float]]
) -> tuple[list[float], float]:
    """Run work(0..count-1) with `concurrency` in flight; (latencies, elapsed seconds)."""
    next_index = 0
    latencies: list[float] = []

    async def worker() -> None:
        nonlocal next_index
        while next_index < count:
            index = next_index
            next_index += 1
            latencies.append(await work(index))

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return latencies, time.perf_counter() - started


class Watchers:
    """Open watch streams; a few decode every event to measure delivery delay."""

    def __init__(self, session: aiohttp.ClientSession, url: str, count: int, parsed: int) -> None:
        self.session = session
        self.url = url
        self.count = count
        self.parsed = parsed
        self.delays: list[float] = []
        self.events = 0
        self.measuring = False
        self._tasks: list[asyncio.Task[None]] = []
        self._ready = 0

    async def start(self, resource_version: str) -> None:
        for index in range(self.count):
            self._tasks.append(asyncio.create_task(self._watch(index, resource_version)))
        while self._ready < self.count:
            await asyncio.sleep(0.01)

    async def _watch(self, index: int, resource_version: str) -> None:
        params = {"watch": "true", "resourceVersion": resource_version}
        decode = index < self.parsed
        async with self.session.get(self.url, params=params) as response:
            self._ready += 1
            buffer = b""
            async for chunk in response.content.iter_any():
                self.events += chunk.count(b"\n")
                if not decode:
                    continue  # counting is enough; decoding everything would load the client
                buffer += chunk
                *lines, buffer = buffer.split(b"\n")
                if self.measuring:
                    received = time.time()
                    for line in lines:
                        event = json.loads(line)
                        sent = (event["object"]["metadata"].get("annotations") or {}).get(SENT_AT)
                        if sent:
                            self.delays.append(received - float(sent))

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)


async def load(target: Target, args: argparse.Namespace) -> Results:
    context = ssl.create_default_context(cadata=target.ca_pem.decode())
    headers = {"Authorization": f"Bearer {target.token}", "Content-Type": "application/json"}
    connector = aiohttp.TCPConnector(limit=args.concurrency, ssl=context)
    watch_connector = aiohttp.TCPConnector(limit=0, ssl=context)
    timeout = aiohttp.ClientTimeout(total=None, sock_read=None)
    rng = random.Random(args.seed)
    namespaces = [f"bench-{index:03d}" for index in range(args.namespaces)]
    names = [(namespaces[i % len(namespaces)], f"model-{i:05d}") for i in range(args.objects)]
    notes: list[str] = []
    load_1m = os.getloadavg()[0]
    if load_1m > 0.5:
        notes.append(
            f"the machine was busy before the run (load average {load_1m:.1f} on "
            f"{os.cpu_count()} CPUs): other processes took CPU from both server and generator"
        )
    async with (
        aiohttp.ClientSession(target.url, connector=connector, headers=headers) as http,
        aiohttp.ClientSession(
            target.url, connector=watch_connector, headers=headers, timeout=timeout
        ) as watch_http,
    ):
        for namespace in namespaces:
            async with http.post("/api/v1/namespaces", json={"metadata": {"name": namespace}}):
                pass
        async with http.get(f"{GROUP_PATH}/inferenceservices") as response:
            start_rv = (await response.json())["metadata"]["resourceVersion"]
        watchers = Watchers(
            watch_http, f"{GROUP_PATH}/inferenceservices", args.watchers, args.parsed_watchers
        )
        await watchers.start(start_rv)

        async def create(index: int) -> float:
            namespace, name = names[index]
            started = time.perf_counter()
            async with http.post(
                f"{GROUP_PATH}/namespaces/{namespace}/inferenceservices",
                json=isvc(name, namespace),
            ) as response:
                await response.read()
                if response.status != 201:
                    raise RuntimeError(f"create {name}: {response.status}")
            return time.perf_counter() - started

        server_cpu_before = cpu_seconds(target.pid)
        generator_cpu_before = time.process_time()
        create_latencies, create_elapsed = await run_bounded(args.objects, args.concurrency, create)
        watchers.measuring = True

        async def patch(index: int) -> float:
            namespace, name = names[rng.randrange(len(names))]
            body = {
                "metadata": {"annotations": {SENT_AT: repr(time.time())}},
                "spec": {"predictor": {"minReplicas": 1 + index % 3}},
            }
            started = time.perf_counter()
            async with http.patch(
                f"{GROUP_PATH}/namespaces/{namespace}/inferenceservices/{name}",
                data=json.dumps(body),
                headers={"Content-Type": "application/merge-patch+json"},
            ) as response:
                await response.read()
                if response.status != 200:
                    raise RuntimeError(f"patch {name}: {response.status}")
            return time.perf_counter() - started

        patch_latencies, patch_elapsed = await run_bounded(args.patches, args.concurrency, patch)
        # let the last events reach the watchers before the figures are read
        expected = args.watchers * (args.objects + args.patches)
        deadline = time.monotonic() + 30
        while watchers.events < expected and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        if watchers.events < expected:
            notes.append(f"watchers received {watchers.events} of {expected} events")
        watchers.measuring = False
        server_cpu = cpu_seconds(target.pid) - server_cpu_before
        generator_cpu = time.process_time() - generator_cpu_before

        async def get(index: int) -> float:
            namespace, name = names[rng.randrange(len(names))]
            started = time.perf_counter()
            async with http.get(
                f"{GROUP_PATH}/namespaces/{namespace}/inferenceservices/{name}"
            ) as response:
                await response.read()
            return time.perf_counter() - started

        get_latencies, _ = await run_bounded(args.gets, args.concurrency, get)

        async def list_namespace(index: int) -> float:
            namespace = namespaces[index % len(namespaces)]
            started = time.perf_counter()
            async with http.get(f"{GROUP_PATH}/namespaces/{namespace}/inferenceservices") as r:
                await r.read()
            return time.perf_counter() - started

        async def list_all(index: int) -> float:
            started = time.perf_counter()
            async with http.get(f"{GROUP_PATH}/inferenceservices") as response:
                await response.read()
            return time.perf_counter() - started

        list_ns_latencies, _ = await run_bounded(
            args.lists, min(args.concurrency, 8), list_namespace
        )
        list_all_latencies, _ = await run_bounded(args.lists, min(args.concurrency, 4), list_all)
        rss = rss_mib(target.pid)
        await watchers.stop()
        # the same PATCHes with nobody watching: what the write path alone sustains
        quiet_latencies, quiet_elapsed = await run_bounded(args.patches, args.concurrency, patch)
    return Results(
        objects=args.objects,
        watchers=args.watchers,
        concurrency=args.concurrency,
        cpus=os.cpu_count() or 0,
        create=Percentiles.of(create_latencies),
        create_writes_per_second=round(args.objects / create_elapsed, 1),
        patch=Percentiles.of(patch_latencies),
        patch_writes_per_second=round(args.patches / patch_elapsed, 1),
        patch_without_watchers=Percentiles.of(quiet_latencies),
        patch_without_watchers_per_second=round(args.patches / quiet_elapsed, 1),
        get=Percentiles.of(get_latencies),
        list_namespace=Percentiles.of(list_ns_latencies),
        list_all=Percentiles.of(list_all_latencies),
        watch_delay=Percentiles.of(watchers.delays),
        watch_events_delivered=watchers.events,
        server_rss_mib=rss,
        server_cpu_seconds=round(server_cpu, 2),
        generator_cpu_seconds=round(generator_cpu, 2),
        server_cpu_ms_per_write=round(1000 * server_cpu / (args.objects + args.patches), 2),
        notes=notes,
    )


# reporting


def markdown(results: Results) -> str:
    def row(name: str, p: Percentiles) -> str:
        return f"| {name} | {p.count} | {p.p50_ms} | {p.p99_ms} | {p.max_ms} |"

    lines = [
        "# Local API server under load",
        "",
        f"{results.objects} InferenceServices, {results.watchers} watchers on all of them, "
        f"{results.concurrency} requests in flight, {results.cpus} CPUs; server and load "
        "generator in separate processes on the same machine (`kcanary bench apiserver`).",
        "",
        "| request | count | p50 ms | p99 ms | max ms |",
        "|---|---|---|---|---|",
        row("CREATE", results.create),
        row("PATCH (merge)", results.patch),
        row("PATCH, no watchers", results.patch_without_watchers),
        row("GET", results.get),
        row("LIST one namespace", results.list_namespace),
        row(f"LIST all {results.objects}", results.list_all),
        row("watch delivery delay", results.watch_delay),
        "",
        f"- writes/s sustained: {results.create_writes_per_second} creates/s, "
        f"{results.patch_writes_per_second} patches/s (each delivered to every watcher); "
        f"{results.patch_without_watchers_per_second} patches/s with no watcher",
        f"- watch events delivered: {results.watch_events_delivered}",
        f"- server resident memory at the end: {results.server_rss_mib} MiB",
        f"- CPU during the write phases: server {results.server_cpu_seconds} s "
        f"({results.server_cpu_ms_per_write} ms per write, fan-out to every watcher included), "
        f"load generator {results.generator_cpu_seconds} s",
        "- aim: at least 500 writes/s with 100 watchers and p99 under 50 ms on 2 cores",
    ]
    lines += [f"- note: {note}" for note in results.notes]
    return "\n".join(lines) + "\n"


def run(args: argparse.Namespace) -> int:
    with tempfile.TemporaryDirectory(prefix="kcanary-bench-") as scratch:
        try:
            process, target = start_server(Path(scratch))
        except (RuntimeError, OSError) as error:
            print(f"kcanary bench apiserver: {error}", file=sys.stderr)
            return 1
        try:
            results = asyncio.run(load(target, args))
        finally:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
    document = markdown(results)
    print(document, end="")
    output: Path = args.output_dir
    output.mkdir(parents=True, exist_ok=True)
    (output / "apiserver.json").write_text(json.dumps(asdict(results), indent=2) + "\n")
    (output / "apiserver.md").write_text(document)
    return 0
