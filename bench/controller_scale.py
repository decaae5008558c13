"""`kcanary bench controller`: many concurrent rollouts on one controller.

The local API server runs alone in its own process (`python -m sim.apiserver`), and a scripted
stand-in for KServe in another: it only marks every InferenceService Ready for its current
generation, as KServe does once its pods serve (no Deployments, no model servers, no gateway).
The controller runs in this process with a scripted analysis (the `Analyst` protocol: a verdict
per tick, no Prometheus), so the CPU and memory measured here are the controller's own, and every
request it makes is counted on its API client.

Phases, each measured on its own: N ISVCs created and brought to Stable; an idle window (the
aim: no writes at all); then every ISVC gets a new model at once and N rollouts walk their steps
to promotion, while reconcile durations, requests per rollout per analysis tick and writes per
step change are recorded.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import platform
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from kubernetes import client as k8s_client
from kubernetes import config as k8s_config

from analysis.templates import builtin_template
from bench.controller_probes import CountingClient, Phase, PhaseFigures, TimedReconciles, rss_mib
from reconcile.analysis_run import AnalysisJob
from reconcile.controller import Controller, ControllerConfig
from rollout.evidence import AnalysisResult, Verdict
from sim.kube_calls import INFERENCE_SERVICES, Kind, KubeCalls, Obj
from sim.object_feed import ObjectFeed

RESULTS_DIR = Path(__file__).resolve().parent / "results"
INFERENCE_ROLLOUTS = Kind("kcanary.io", "v1alpha1", "inferencerollouts")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--rollouts", type=int, default=500, help="concurrent rollouts (500)")
    parser.add_argument(
        "--interval", type=float, default=5.0, help="analysis interval, seconds (5)"
    )
    parser.add_argument(
        "--step-duration", type=float, default=15.0, help="least time per step, seconds (15)"
    )
    parser.add_argument("--steps", default="10,25,50", help="canary weights (10,25,50)")
    parser.add_argument("--idle", type=float, default=15.0, help="idle window, seconds (15)")
    parser.add_argument("--workers", type=int, default=4, help="controller workers (4)")
    parser.add_argument(
        "--timeout", type=float, default=240.0, help="give up after this many seconds (240)"
    )
    parser.add_argument("--out", type=Path, default=RESULTS_DIR, help="where controller.md/json go")


# --- the scripted KServe, in a process of its own -------------------------------------------


def scripted_kserve(kubeconfig: str, stop: Any) -> None:
    """Mark every ISVC Ready for its current generation, from a list+watch (child process)."""
    configuration = k8s_client.Configuration()
    k8s_config.load_kube_config(  # type: ignore[no-untyped-call]
        config_file=kubeconfig, client_configuration=configuration
    )
    configuration.connection_pool_maxsize = 8
    calls = KubeCalls(k8s_client.ApiClient(configuration))
    pending: set[tuple[str, str]] = set()
    lock = threading.Condition()

    def changed(event: str, obj: Obj) -> None:
        meta = obj.get("metadata") or {}
        status = obj.get("status") or {}
        if event != "DELETED" and status.get("observedGeneration") != meta.get("generation"):
            with lock:
                pending.add((str(meta.get("namespace")), str(meta.get("name"))))
                lock.notify()

    feed = ObjectFeed(calls, INFERENCE_SERVICES, changed)
    feed.start()
    while not stop.is_set():
        with lock:
            lock.wait_for(lambda: bool(pending), timeout=0.5)
            batch = list(pending)
            pending.clear()
        for namespace, name in batch:
            current = feed.get(namespace, name)
            if current is None:
                continue
            generation = (current.get("metadata") or {}).get("generation")
            ready = {
                "type": "Ready",
                "status": "True",
                "lastTransitionTime": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            }
            status = {"observedGeneration": generation, "conditions": [ready]}
            try:
                calls.patch_status(INFERENCE_SERVICES, namespace, name, status)
            except Exception:  # gone or conflicting: the watch brings it back if it matters
                continue
    feed.stop()


# --- the controller's side ------------------------------------------------------------------


@dataclass
class ScriptedAnalyst:
    """Inconclusive every tick (no harm, no proof): the steps end by time, then promotion."""

    calls: int = 0

    def analyse(self, job: AnalysisJob) -> AnalysisResult:
        self.calls += 1
        return AnalysisResult(revision=job.canary_hash, time=job.at, verdict=Verdict.INCONCLUSIVE)


# --- the run ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Results:
    rollouts: int
    interval_s: float
    step_duration_s: float
    steps: str
    machine: str
    to_stable: PhaseFigures
    idle: PhaseFigures
    rolling: PhaseFigures
    analysis_ticks: int
    step_changes: int
    requests_per_rollout_per_tick: float
    writes_per_rollout_per_tick: float
    writes_per_step_change: float
    route_writes_per_step_change: float
    status_writes_per_tick: float
    prometheus_queries_per_tick: int
    real_source_queries_per_revision: int
    real_source_queries_per_tick: int
    rss_mib: float
    promoted: int


def _isvc(name: str, namespace: str, args: argparse.Namespace, uri: str) -> Obj:
    return {
        "apiVersion": "serving.kserve.io/v1beta1",
        "kind": "InferenceService",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "labels": {"networking.kserve.io/visibility": "cluster-local"},
            "annotations": {
                "serving.kserve.io/deploymentMode": "RawDeployment",
                "kcanary.io/strategy": "canary",
                "kcanary.io/traffic": "istio",
                "kcanary.io/steps": args.steps,
                "kcanary.io/interval": f"{args.interval:g}s",
                "kcanary.io/step-duration": f"{args.step_duration:g}s",
                "kcanary.io/metrics": "istio",
            },
        },
        "spec": {"predictor": {"model": {"modelFormat": {"name": "sklearn"}, "storageUri": uri}}},
    }


def _start_api_server(folder: Path) -> subprocess.Popen[str]:
    kubeconfig = folder / "kubeconfig"
    process = subprocess.Popen(
        [sys.executable, "-m", "sim.apiserver", "--kubeconfig", str(kubeconfig)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            raise RuntimeError("the API server exited before it was ready")
        if line.strip() == "ready":
            return process
    process.kill()
    raise RuntimeError("the API server was not ready within 60 s")


def _wait(condition: Callable[[], bool], deadline: float, what: str) -> None:
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"gave up waiting for {what}")
        time.sleep(0.5)


def _phases(calls: KubeCalls) -> Counter[str]:
    listed = calls.list(INFERENCE_ROLLOUTS)
    return Counter(str((i.get("status") or {}).get("phase")) for i in listed.get("items") or [])


def _history_ended(calls: KubeCalls) -> int:
    ended = 0
    for item in calls.list(INFERENCE_ROLLOUTS).get("items") or []:
        history = (item.get("status") or {}).get("history") or []
        if history and history[-1].get("outcome") == "promoted" and history[-1].get("finishedAt"):
            ended += 1
    return ended


def measure(args: argparse.Namespace, folder: Path) -> Results:
    server = _start_api_server(folder)
    kubeconfig = str(folder / "kubeconfig")
    context = multiprocessing.get_context("spawn")
    stop = context.Event()
    kserve = context.Process(target=scripted_kserve, args=(kubeconfig, stop), daemon=True)
    kserve.start()
    controller: Controller | None = None
    try:
        driver = KubeCalls(
            k8s_config.new_client_from_config(config_file=kubeconfig)  # type: ignore[no-untyped-call]
        )
        namespace = "bench"
        k8s_client.CoreV1Api(driver.api_client).create_namespace(
            k8s_client.V1Namespace(metadata=k8s_client.V1ObjectMeta(name=namespace))
        )
        configuration = k8s_client.Configuration()
        k8s_config.load_kube_config(  # type: ignore[no-untyped-call]
            config_file=kubeconfig, client_configuration=configuration
        )
        configuration.connection_pool_maxsize = args.workers * 4
        api_client = k8s_client.ApiClient(configuration)
        counting = CountingClient(api_client)
        analyst = ScriptedAnalyst()
        controller = Controller(
            api_client,
            analyst,
            ControllerConfig(
                namespaces=(namespace,),
                workers=args.workers,
                poll_interval=timedelta(seconds=5),
            ),
        )
        timed = TimedReconciles(controller)
        controller.start()
        deadline = time.monotonic() + args.timeout
        names = [f"model-{index:04d}" for index in range(args.rollouts)]

        phase = Phase(timed, counting)
        for name in names:
            driver.create(INFERENCE_SERVICES, namespace, _isvc(name, namespace, args, _uri(1)))
        _wait(
            lambda: _phases(driver)["Stable"] == args.rollouts,
            deadline,
            f"{args.rollouts} rollouts to be Stable",
        )
        to_stable = phase.end()

        phase = Phase(timed, counting)
        threading.Event().wait(args.idle)  # the idle window being measured
        idle = phase.end()

        ticks_before = analyst.calls
        phase = Phase(timed, counting)
        for name in names:
            patch = {"spec": {"predictor": {"model": {"storageUri": _uri(2)}}}}
            driver.patch(INFERENCE_SERVICES, namespace, name, patch)
        _wait(
            lambda: _history_ended(driver) == args.rollouts,
            deadline,
            f"{args.rollouts} rollouts to be promoted",
        )
        rolling = phase.end()
        ticks = analyst.calls - ticks_before
        weights = [s for s in args.steps.split(",") if s.strip().isdigit()]
        # Each rollout: every step's weight, then promotion (to the primary, and back to 0).
        step_changes = args.rollouts * (len(weights) + 1)
        queries = _real_source_queries()
        return Results(
            rollouts=args.rollouts,
            interval_s=args.interval,
            step_duration_s=args.step_duration,
            steps=args.steps,
            machine=f"{os.cpu_count()} CPUs, Python {platform.python_version()}",
            to_stable=to_stable,
            idle=idle,
            rolling=rolling,
            analysis_ticks=ticks,
            step_changes=step_changes,
            requests_per_rollout_per_tick=round(rolling.requests / max(ticks, 1), 3),
            writes_per_rollout_per_tick=round(rolling.writes / max(ticks, 1), 3),
            writes_per_step_change=round(rolling.writes / step_changes, 3),
            route_writes_per_step_change=round(
                _writes_of(rolling, "virtualservices") / step_changes, 3
            ),
            status_writes_per_tick=round(
                _writes_of(rolling, "inferencerollouts/status") / max(ticks, 1), 3
            ),
            prometheus_queries_per_tick=0,
            real_source_queries_per_revision=queries,
            real_source_queries_per_tick=2 * queries,
            rss_mib=rss_mib(),
            promoted=_history_ended(driver),
        )
    finally:
        if controller is not None:
            controller.stop()
        stop.set()
        kserve.join(10)
        if kserve.is_alive():
            kserve.kill()
        server.terminate()
        server.wait(15)


def _writes_of(phase: PhaseFigures, kind: str) -> int:
    return sum(n for key, n in phase.writes_by_kind.items() if key.split(" ", 1)[1] == kind)


def _uri(version: int) -> str:
    return f"sim://iris/v{version}?p50_ms=20"


def _real_source_queries() -> int:
    """Range queries the Prometheus source runs per revision per tick with the istio template:
    one per counted quantity (requests, failures, latency buckets) that the template defines."""
    template = builtin_template("istio")
    return sum(
        1 for field in ("requests", "failures", "latency_buckets") if getattr(template, field, None)
    )


def markdown(results: Results) -> str:
    def row(name: str, phase: PhaseFigures) -> str:
        return (
            f"| {name} | {phase.seconds} | {phase.reconciles} | {phase.reconcile_p50_ms} | "
            f"{phase.reconcile_p99_ms} | {phase.requests} | {phase.writes} | {phase.cpu_seconds} |"
        )

    r = results
    return "\n".join(
        [
            "# Controller at scale",
            "",
            f"Machine: {r.machine}. {r.rollouts} InferenceServices on one controller (4 workers) "
            "against the local API server in its own process; a scripted KServe (Ready for "
            "each generation, in another process) and a scripted analysis (Inconclusive every "
            f"tick). Steps {r.steps}, analysis every {r.interval_s:g} s, "
            f"{r.step_duration_s:g} s per step. Other work on the machine shows up as noise.",
            "",
            "| phase | seconds | reconciles | p50 ms | p99 ms | API requests | writes | CPU s |",
            "|---|---:|---:|---:|---:|---:|---:|---:|",
            row(f"{r.rollouts} ISVCs to Stable", r.to_stable),
            row("idle (Stable)", r.idle),
            row(f"{r.rollouts} concurrent rollouts", r.rolling),
            "",
            f"- Writes while idle: **{r.idle.writes}** (aim: 0; the Lease is off here).",
            f"- Analysis ticks during the rollouts: {r.analysis_ticks}; API requests per rollout "
            f"per tick: **{r.requests_per_rollout_per_tick}**; writes per rollout per tick: "
            f"{r.writes_per_rollout_per_tick}.",
            f"- Step changes: {r.step_changes} ({len(r.steps.split(','))} steps and the "
            f"promotion per rollout); writes per step change: **{r.writes_per_step_change}** "
            f"(aim: 1): route writes per step change **{r.route_writes_per_step_change}**; "
            f"besides, each tick writes its `lastAnalysis` into the status "
            f"({r.status_writes_per_tick} status writes per tick) and Events are recorded.",
            f"- Writes during the rollouts by kind: {r.rolling.writes_by_kind}.",
            f"- Prometheus queries per tick: {r.prometheus_queries_per_tick} (scripted "
            f"analysis); the real source runs {r.real_source_queries_per_revision} range "
            f"queries per revision, {r.real_source_queries_per_tick} per tick.",
            f"- Reconcile p99 during the rollouts: **{r.rolling.reconcile_p99_ms} ms** "
            "(aim: < 50 ms). Less the time spent waiting on API requests (the local API "
            f"server's latency on the same cores): p50 {r.rolling.own_p50_ms} ms, p99 "
            f"**{r.rolling.own_p99_ms} ms**; the worker's CPU time per reconcile p99 "
            f"{r.rolling.cpu_p99_ms} ms.",
            f"- Resident memory at the end: **{r.rss_mib} MiB** (aim: < 300 MiB); "
            f"promoted: {r.promoted}/{r.rollouts}.",
            "",
        ]
    )


def run(args: argparse.Namespace) -> int:
    if args.rollouts < 1 or args.interval < 1 or args.step_duration <= 0:
        print(
            "kcanary bench controller: --rollouts must be >= 1, --interval >= 1 s and "
            "--step-duration > 0",
            file=sys.stderr,
        )
        return 2
    with tempfile.TemporaryDirectory(prefix="kcanary-bench-controller-") as folder:
        try:
            results = measure(args, Path(folder))
        except (TimeoutError, RuntimeError) as error:
            print(f"kcanary bench controller: {error}", file=sys.stderr)
            return 1
    text = markdown(results)
    print(text)
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "controller.md").write_text(text)
    (args.out / "controller.json").write_text(json.dumps(asdict(results), indent=2) + "\n")
    return 0
