"""Requests per second the local cluster's gateway sustains to its model servers, and its latency.

Two layouts: `shared` runs the model servers and the gateway on one event loop of one process, as
the simplest local cluster does; `split` runs the model servers in a second process (they are other
pods), so the gateway has an interpreter of its own. The client is always a separate process
sending open-loop Poisson traffic. First the same rate goes straight to a
model server and then through the gateway, to measure what the gateway adds to p50 and p99;
then the offered rate steps up until the gateway no longer keeps up. A rate counts as sustained
when at least 97% of the requests sent in the step were answered within it, with no errors and
a p99 under `--max-p99-ms`, and so did every lower rate.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import platform
import random
import statistics
import time
from collections import Counter
from dataclasses import asdict, dataclass
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import aiohttp

from sim.background_loop import BackgroundLoop
from sim.behaviour import parse_storage_uri
from sim.gateway import Endpoint, Gateway, PodDirectory, build_routing_table
from sim.modelserver import ModelServer, ModelServerHost, ModelServerSpec, PodIdentity

HOST = "iris-models.example.com"
PATH = "/v1/models/iris:predict"
BODY = json.dumps({"instances": [[6.8, 2.8, 4.8, 1.4], [5.1, 3.5, 1.4, 0.2]]}).encode()


@dataclass(frozen=True)
class Step:
    """What the client saw at one offered rate."""

    target: str
    offered_rps: float
    answered_rps: float
    sent: int
    answered: int
    errors: int
    p50_ms: float
    p99_ms: float
    cpu_ms_per_request: float  # CPU of this process (gateway, and pods in `shared`) per answer
    load_average: float  # the machine's 1-minute load average after the step (other work)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--duration", type=float, default=5.0, help="seconds per rate step")
    parser.add_argument(
        "--rates",
        default="200,300,400,500,600,800,1000",
        help="comma-separated offered rates (requests/s) to step through",
    )
    parser.add_argument("--p50-ms", type=float, default=5.0, help="model server median latency")
    parser.add_argument("--pods", type=int, default=4, help="model-server pods (two Services)")
    parser.add_argument("--max-p99-ms", type=float, default=250.0, help="p99 limit of 'sustained'")
    parser.add_argument(
        "--layouts", default="split,shared", help="comma-separated: split and/or shared"
    )
    parser.add_argument(
        "--output", default="bench/results", help="folder for gateway.md and gateway.json"
    )


def run(args: argparse.Namespace) -> int:
    try:
        rates = [float(r) for r in str(args.rates).split(",") if r.strip()]
    except ValueError:
        print(f"--rates must be comma-separated numbers, got {args.rates!r}")
        return 2
    if not rates or min(rates) <= 0 or args.duration <= 0 or args.pods < 2:
        print("--rates must be positive, --duration > 0 and --pods >= 2")
        return 2
    layouts = [x.strip() for x in str(args.layouts).split(",") if x.strip()]
    if not layouts or set(layouts) - {"split", "shared"}:
        print(f"--layouts must name split and/or shared, got {args.layouts!r}")
        return 2
    load_at_start = os.getloadavg()[0]
    results = [_measure(layout, rates, args) for layout in layouts]
    result = {
        "machine": {"cpus": multiprocessing.cpu_count(), "python": platform.python_version()},
        "model_p50_ms": args.p50_ms,
        "pods": args.pods,
        "step_duration_s": args.duration,
        "max_p99_ms": args.max_p99_ms,
        "load_average_at_start": round(load_at_start, 2),
        "layouts": results,
    }
    _write(Path(args.output), result)
    return 0 if all(r["max_sustained_rps"] > 0 for r in results) else 1


def _measure(layout: str, rates: list[float], args: argparse.Namespace) -> dict[str, Any]:
    loop = BackgroundLoop("bench-data-plane")
    loop.start()
    servers = ModelServerHost(loop)
    context = multiprocessing.get_context("spawn")
    parent_end, child_end = context.Pipe()
    child = None
    try:
        if layout == "shared":
            directory = PodDirectory()
            urls = [p.url for p in _launch_pods(servers, directory, args.pods, args.p50_ms)]
        else:
            child = context.Process(
                target=_serve_pods, args=(child_end, args.pods, args.p50_ms), daemon=True
            )
            child.start()
            directory = PodDirectory()
            for url, service, pod in parent_end.recv():
                directory.add(service, "models", _RemotePod(url, pod))
            urls = [p.url for p in directory_pods(directory)]
        gateway = Gateway(directory, loop=loop, seed=1)
        gateway.start()
        try:
            gateway.set_routes(build_routing_table(virtual_services=[_split_route()]).table)
            direct = _client(urls[0], rates[0], args.duration, "direct")
            through = _client(gateway.url, rates[0], args.duration, "gateway")
            steps = [_client(gateway.url, rate, args.duration, "gateway") for rate in rates]
        finally:
            gateway.stop()
    finally:
        servers.stop()
        loop.stop()
        if child is not None:
            parent_end.send("stop")
            child.join(15)
    # Sustained up to the first step that fails, so one lucky step above a failure (another
    # process on the machine paused, say) does not count.
    sustained = 0.0
    for step in sorted(steps, key=lambda s: s.offered_rps):
        kept_up = step.answered >= 0.97 * step.sent  # Poisson: `sent` varies around the rate
        if not (kept_up and step.errors == 0 and step.p99_ms <= args.max_p99_ms):
            break
        sustained = step.offered_rps
    # Median over the steps the gateway kept up with: overload inflates the cost per answer.
    kept = [s.cpu_ms_per_request for s in steps if s.answered >= 0.97 * s.sent] or [
        s.cpu_ms_per_request for s in steps
    ]
    cpu = statistics.median(kept)
    return {
        "layout": layout,
        "max_sustained_rps": sustained,
        # What this process's CPU use per request allows on one free core: a figure that other
        # work on the machine disturbs far less than the latency-bound one above.
        "cpu_ms_per_request": cpu,
        "cpu_bound_rps_per_core": round(1000.0 / cpu) if cpu > 0 else 0,
        "overhead": {
            "rate_rps": rates[0],
            "direct": asdict(direct),
            "gateway": asdict(through),
            "added_p50_ms": round(through.p50_ms - direct.p50_ms, 2),
            "added_p99_ms": round(through.p99_ms - direct.p99_ms, 2),
        },
        "steps": [asdict(s) for s in steps],
    }


@dataclass(frozen=True)
class _RemotePod:
    """A model-server pod living in the other process: always ready while the bench runs."""

    url: str
    pod: PodIdentity
    ready: bool = True


def directory_pods(directory: PodDirectory) -> list[Endpoint]:
    return [
        e
        for service in ("iris-primary-predictor", "iris-predictor")
        for e in directory.endpoints(service, "models")
    ]


def _serve_pods(conn: Connection, count: int, p50_ms: float) -> None:
    """Child process of the split layout: run the model servers until told to stop."""
    loop = BackgroundLoop("bench-pods")
    loop.start()
    servers = ModelServerHost(loop)
    try:
        pods = _launch_pods(servers, PodDirectory(), count, p50_ms)
        conn.send([(p.url, p.pod.service, p.pod) for p in pods])
        conn.recv()
    finally:
        servers.stop()
        loop.stop()


def _launch_pods(
    servers: ModelServerHost, directory: PodDirectory, count: int, p50_ms: float
) -> list[ModelServer]:
    pods: list[ModelServer] = []
    behaviour = parse_storage_uri(f"sim://iris/v1?p50_ms={p50_ms}&sigma=0.2")
    for index in range(count):
        service = "iris-primary-predictor" if index % 2 == 0 else "iris-predictor"
        server = servers.launch(
            ModelServerSpec("iris", behaviour=behaviour),
            PodIdentity("models", f"{service}-{index}", service, service),
            seed=index,
        )
        directory.add(service, "models", server)
        pods.append(server)
    return pods


def _split_route() -> dict[str, Any]:
    return {
        "metadata": {"name": "iris-kcanary", "namespace": "models"},
        "spec": {
            "hosts": [HOST],
            "gateways": ["knative-serving/knative-ingress-gateway"],
            "http": [
                {
                    "route": [
                        {"destination": {"host": "iris-primary-predictor"}, "weight": 90},
                        {"destination": {"host": "iris-predictor"}, "weight": 10},
                    ]
                }
            ],
        },
    }


def _client(url: str, rate: float, duration: float, target: str) -> Step:
    """Run one open-loop step in a fresh process and return what it saw."""
    context = multiprocessing.get_context("spawn")
    with context.Pool(1) as pool:
        pool.apply(int)  # the client process is up before the CPU clock starts
        cpu_before = time.process_time()
        latencies, statuses, sent, completed = pool.apply(_client_process, (url, rate, duration))
        cpu_ms = (time.process_time() - cpu_before) * 1000.0
    answered = sum(statuses.values())
    ordered = sorted(latencies) or [0.0]
    return Step(
        target=target,
        offered_rps=rate,
        answered_rps=round(answered / duration, 1),
        sent=sent,
        answered=answered,
        errors=sum(n for code, n in statuses.items() if code != 200),
        p50_ms=round(statistics.median(ordered), 2),
        p99_ms=round(ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))], 2),
        cpu_ms_per_request=round(cpu_ms / max(1, completed), 3),
        load_average=round(os.getloadavg()[0], 2),
    )


# latencies and statuses answered within the step, requests sent, answers in all
ClientResult = tuple[list[float], Counter[int], int, int]


def _client_process(url: str, rate: float, duration: float) -> ClientResult:
    return asyncio.run(_open_loop(url, rate, duration))


async def _open_loop(url: str, rate: float, duration: float) -> ClientResult:
    rng = random.Random(1)
    latencies: list[float] = []
    statuses: Counter[int] = Counter()
    tasks: set[asyncio.Task[None]] = set()
    completed = 0
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0)) as session:

        async def one() -> None:
            nonlocal completed
            started = time.perf_counter()
            try:
                async with session.post(
                    url + PATH,
                    data=BODY,
                    headers={"Host": HOST, "Content-Type": "application/json"},
                    timeout=aiohttp.ClientTimeout(total=10),
                ) as response:
                    await response.read()
                    completed += 1
                    # Answers that arrive after the step are not counted as sustained.
                    if time.perf_counter() <= end:
                        statuses[response.status] += 1
                        latencies.append((time.perf_counter() - started) * 1000.0)
            except (aiohttp.ClientError, TimeoutError):
                statuses[0] += 1

        start = time.perf_counter()
        end = start + duration
        next_at = start
        sent = 0
        while True:
            next_at += rng.expovariate(rate)
            if next_at >= end:
                break
            delay = next_at - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            task = asyncio.create_task(one())
            tasks.add(task)
            task.add_done_callback(tasks.discard)
            sent += 1
        if tasks:
            await asyncio.wait(tasks, timeout=15)
    return latencies, statuses, sent, completed


def _write(folder: Path, result: dict[str, Any]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "gateway.json").write_text(json.dumps(result, indent=2) + "\n")
    lines = [
        "# Gateway throughput",
        "",
        f"Machine: {result['machine']['cpus']} CPUs, Python {result['machine']['python']}. "
        f"{result['pods']} model-server pods (median {result['model_p50_ms']} ms) behind a "
        f"90/10 VirtualService split; open-loop Poisson client in its own process; "
        f"{result['step_duration_s']} s per step. A rate is sustained when at least 97% of the "
        "requests sent were answered within the step, with no errors and p99 <= "
        f"{result['max_p99_ms']} ms, and so was every lower rate. The machine's 1-minute load "
        f"average was {result['load_average_at_start']} at the start; with 2 CPUs, anything "
        "above ~2 is other work competing for them, and the figures drop accordingly.",
    ]
    for measured in result["layouts"]:
        overhead = measured["overhead"]
        lines += [
            "",
            f"## Layout `{measured['layout']}`",
            "",
            f"**Sustained: {measured['max_sustained_rps']:.0f} requests/s** through the gateway. "
            f"CPU per request in the gateway's process: {measured['cpu_ms_per_request']} ms, "
            f"so about {measured['cpu_bound_rps_per_core']} requests/s per free core.",
            "",
            f"Latency added by the gateway at {overhead['rate_rps']:.0f} requests/s: "
            f"p50 {overhead['added_p50_ms']:+.2f} ms, p99 {overhead['added_p99_ms']:+.2f} ms "
            f"(direct p50 {overhead['direct']['p50_ms']} / p99 {overhead['direct']['p99_ms']} ms; "
            f"through the gateway p50 {overhead['gateway']['p50_ms']} / "
            f"p99 {overhead['gateway']['p99_ms']} ms).",
            "",
            "| offered rps | answered rps | errors | p50 ms | p99 ms | CPU ms/request | load avg |",
            "|---:|---:|---:|---:|---:|---:|---:|",
        ]
        lines += [
            f"| {s['offered_rps']:.0f} | {s['answered_rps']:.0f} | {s['errors']} | "
            f"{s['p50_ms']} | {s['p99_ms']} | {s['cpu_ms_per_request']} | {s['load_average']} |"
            for s in measured["steps"]
        ]
    text = "\n".join(lines) + "\n"
    (folder / "gateway.md").write_text(text)
    print(text)
