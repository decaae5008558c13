"""What `kcanary demo` does: a canary rollout on the local cluster, from stable to a new model.

It starts the local cluster (API server, KServe stand-in, gateway, load, real Prometheus) and the
controller as its own process, exactly as `kcanary local-cluster` and `kcanary controller` would
run them, applies an annotated InferenceService, changes its model as a user's CI would, shows
the rollout live, and ends with the decision and its evidence. It exits non-zero when the
rollout does not end the way the scenario expects.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml
from kubernetes import client as k8s_client

from kcanary.demo_scenarios import SCENARIOS, STABLE_URI, Scenario, inference_service
from kcanary.report import write_report
from kcanary.report.gather import gather_from_client
from sim.cluster import LocalCluster, LocalClusterConfig
from sim.ports import listen_port

NAMESPACE = "demo"
NAME = "iris"
GROUP, VERSION, PLURAL = "kcanary.io", "v1alpha1", "inferencerollouts"
TERMINAL = ("RolledBack", "Aborted")
REPORT_AFTER_DECISION_S = 6.0


def _say(text: str) -> None:
    print(text, flush=True)


def run(args: argparse.Namespace) -> int:
    scenario = SCENARIOS[args.scenario]
    out: Path = args.out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    kubeconfig = out / "kubeconfig"
    metrics_port, health_port = listen_port(), listen_port()
    _say(f"kcanary demo: scenario {scenario.name!r} ({scenario.summary}), router {args.router}")
    cluster = LocalCluster(
        LocalClusterConfig(
            kubeconfig=kubeconfig,
            load_rps=args.load,
            extra_scrape=(f"127.0.0.1:{metrics_port}",),
        )
    )
    started = time.monotonic()
    try:
        cluster.start()
    except Exception as error:  # any part that cannot start: say which and stop
        _say(f"kcanary demo: the local cluster did not start: {error}")
        cluster.stop()
        return 1
    controller: subprocess.Popen[bytes] | None = None
    try:
        endpoints = dict(cluster.endpoints())
        _say(f"local cluster ready in {time.monotonic() - started:.1f}s:")
        for part, url in cluster.endpoints():
            _say(f"  {part}: {url}")
        controller = _start_controller(
            kubeconfig, endpoints["prometheus"], metrics_port, health_port, out
        )
        _say(f"controller running (pid {controller.pid}), logs in {out / 'controller.log'}")
        outcome = _roll_out(cluster.api_client(), scenario, args, kubeconfig)
        _write_records(cluster.api_client(), out)
        report = _write_report(cluster.api_client(), endpoints.get("prometheus"), out)
        ok = outcome == scenario.expected
        _say(
            f"\n{'OK' if ok else 'UNEXPECTED'}: the rollout ended {outcome}"
            f" (expected {scenario.expected})."
        )
        _say(f"Wrote {out / 'rollout.yaml'}, {out / 'events.txt'}, {out / 'controller.log'}.")
        if report is not None:
            _say(f"Report (plots and evidence): {report}")
        if args.keep:
            _say(
                f"\nThe cluster keeps running; in another terminal:\n"
                f"  export KUBECONFIG={kubeconfig}\n"
                f"  kubectl get isvc,irollout -n {NAMESPACE}\n"
                f"  kubectl canary get {NAME} -n {NAMESPACE}\n"
                "Press Ctrl-C to stop."
            )
            _wait_for_interrupt()
        return 0 if ok else 1
    except KeyboardInterrupt:
        return 130
    finally:
        if controller is not None:
            controller.send_signal(signal.SIGTERM)
            try:
                controller.wait(timeout=15)
            except subprocess.TimeoutExpired:
                controller.kill()
                controller.wait()
        cluster.stop()


def _start_controller(
    kubeconfig: Path, prometheus: str, metrics_port: int, health_port: int, out: Path
) -> subprocess.Popen[bytes]:
    log = (out / "controller.log").open("wb")
    command = [
        sys.executable, "-m", "kcanary", "controller",
        "--kubeconfig", str(kubeconfig),
        "--prometheus-url", prometheus,
        "--metrics-addr", f"127.0.0.1:{metrics_port}",
        "--health-addr", f"127.0.0.1:{health_port}",
        "--no-leader-elect",
    ]  # fmt: skip
    env = {k: v for k, v in os.environ.items() if not k.startswith("KCANARY_")}
    process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the controller exited with {process.returncode}; see {log.name}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{health_port}/readyz", timeout=1):
                return process
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"the controller was not ready within 30s; see {log.name}")


def _roll_out(
    api: k8s_client.ApiClient, scenario: Scenario, args: argparse.Namespace, kubeconfig: Path
) -> str:
    core, custom = k8s_client.CoreV1Api(api), k8s_client.CustomObjectsApi(api)
    core.create_namespace(k8s_client.V1Namespace(metadata=k8s_client.V1ObjectMeta(name=NAMESPACE)))
    isvc = inference_service(
        scenario, args.router, name=NAME, namespace=NAMESPACE, storage_uri=STABLE_URI
    )
    custom.create_namespaced_custom_object(
        "serving.kserve.io", "v1beta1", NAMESPACE, "inferenceservices", isvc
    )
    _say(f"\napplied InferenceService {NAMESPACE}/{NAME} with model {STABLE_URI}")
    view = _RolloutView()
    deadline = time.monotonic() + args.timeout
    while _phase(custom) != "Stable":
        view.show(_rollout(custom))
        _check_deadline(deadline, "the first revision to become Stable")
        time.sleep(0.5)
    view.show(_rollout(custom))
    _say(f"\nchanging the model to {scenario.canary_uri} (what a user's CI would do)")
    custom.patch_namespaced_custom_object(
        "serving.kserve.io", "v1beta1", NAMESPACE, "inferenceservices", NAME,
        {"spec": {"predictor": {"model": {"storageUri": scenario.canary_uri}}}},
    )  # fmt: skip
    asked_to_promote = False
    while True:
        rollout = _rollout(custom)
        view.show(rollout)
        status = rollout.get("status") or {}
        phase = status.get("phase")
        history = status.get("history") or []
        ended = bool(history) and history[-1].get("finishedAt") and _is_canary(history, scenario)
        if phase in TERMINAL or (phase == "Stable" and ended):
            _summarise(status)
            return str(phase)
        if phase == "Paused" and scenario.name == "manual" and not asked_to_promote:
            asked_to_promote = True
            _ask_for_promotion(custom, kubeconfig)
        _check_deadline(deadline, "the rollout to end")
        time.sleep(0.5)


def _is_canary(history: list[Mapping[str, Any]], scenario: Scenario) -> bool:
    return str(history[-1].get("storageUri")) == scenario.canary_uri


def _ask_for_promotion(custom: k8s_client.CustomObjectsApi, kubeconfig: Path) -> None:
    _say(
        "\nThe rollout is paused for a person. In a second terminal, promote it:\n"
        f"  KUBECONFIG={kubeconfig} kubectl canary promote {NAME} -n {NAMESPACE}\n"
        f"(or: kubectl annotate isvc {NAME} -n {NAMESPACE} kcanary.io/action=promote)"
    )
    if sys.stdin.isatty():
        return
    # Nobody at the keyboard (CI): play the person after a moment, the way they would.
    time.sleep(3)
    _say("no terminal attached: promoting on the person's behalf")
    custom.patch_namespaced_custom_object(
        "serving.kserve.io", "v1beta1", NAMESPACE, "inferenceservices", NAME,
        {"metadata": {"annotations": {"kcanary.io/action": "promote"}}},
    )  # fmt: skip


def _check_deadline(deadline: float, what: str) -> None:
    if time.monotonic() > deadline:
        raise TimeoutError(f"gave up waiting for {what}")


def _rollout(custom: k8s_client.CustomObjectsApi) -> dict[str, Any]:
    try:
        result = custom.get_namespaced_custom_object(GROUP, VERSION, NAMESPACE, PLURAL, NAME)
        return dict(result) if isinstance(result, dict) else {}
    except k8s_client.exceptions.ApiException as error:
        if error.status == 404:
            return {}
        raise


def _phase(custom: k8s_client.CustomObjectsApi) -> str | None:
    phase = (_rollout(custom).get("status") or {}).get("phase")
    return str(phase) if phase else None


class _RolloutView:
    """Prints one line whenever what a person would look at changes."""

    def __init__(self) -> None:
        self._last = ""
        self._started = time.monotonic()

    def show(self, rollout: Mapping[str, Any]) -> None:
        status = rollout.get("status") or {}
        if not status:
            return
        line = _status_line(status)
        if line != self._last:
            self._last = line
            _say(f"[{time.monotonic() - self._started:5.0f}s] {line}")


def _status_line(status: Mapping[str, Any]) -> str:
    phase = status.get("phase", "?")
    weight = status.get("canaryWeight", 0)
    parts = [f"{phase:<12}", f"canary {weight:>3}%"]
    if phase in ("Progressing", "Paused"):
        parts.append(f"step {int(status.get('currentStep', 0)) + 1}")
    analysis = status.get("lastAnalysis") or {}
    if analysis and phase not in ("Stable", "Initializing"):
        verdict = analysis.get("verdict")
        # Name only the checks behind the overall verdict: the rest are in the summary.
        behind = [
            str(c.get("name")) for c in analysis.get("checks") or [] if c.get("verdict") == verdict
        ]
        shown = f" ({', '.join(behind)})" if behind and verdict in ("Fail", "Pass") else ""
        parts.append(f"analysis {verdict}{shown}")
    message = status.get("message")
    if message:
        parts.append(f"- {message}")
    return "  ".join(parts)


def _summarise(status: Mapping[str, Any]) -> None:
    history = status.get("history") or []
    last = history[-1] if history else {}
    _say(f"\nDecision: {last.get('outcome', '?')} - {last.get('reason', '')}")
    analysis = status.get("lastAnalysis") or {}
    checks = analysis.get("checks") or []
    if checks:
        when, verdict = analysis.get("time"), analysis.get("verdict")
        _say(f"Evidence (last analysis at {when}, verdict {verdict}):")
        header = f"{'check':<27}{'verdict':<14}{'stable':>10}{'canary':>10}"
        _say(f"  {header}  effect [interval]  e-value / threshold")
        for check in checks:
            interval = check.get("interval") or [None, None]
            _say(
                f"  {check.get('name', ''):<24}{check.get('verdict', ''):<14}"
                f"{_num(check.get('stable')):>10}{_num(check.get('canary')):>10}  "
                f"{_num(check.get('effect'))} [{_num(interval[0])}, {_num(interval[1])}]  "
                f"{_num(check.get('evalue'))} / {_num(check.get('threshold'))}"
            )


def _num(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def _write_records(api: k8s_client.ApiClient, out: Path) -> None:
    custom, core = k8s_client.CustomObjectsApi(api), k8s_client.CoreV1Api(api)
    rollout = custom.get_namespaced_custom_object(GROUP, VERSION, NAMESPACE, PLURAL, NAME)
    (out / "rollout.yaml").write_text(yaml.safe_dump(rollout, sort_keys=False))
    events = core.list_namespaced_event(NAMESPACE).items
    lines = [
        f"{_when(e.last_timestamp)}  {e.type:<8} {e.reason:<24} "
        f"{e.involved_object.kind}/{e.involved_object.name}: {e.message}"
        for e in sorted(events, key=lambda e: e.last_timestamp or datetime.min.replace(tzinfo=UTC))
    ]
    (out / "events.txt").write_text("\n".join(lines) + "\n")


def _write_report(api: k8s_client.ApiClient, prometheus: str | None, out: Path) -> Path | None:
    """`kcanary report` into OUT/report; a report that cannot be drawn never fails the demo."""
    # A few seconds more of traffic after the decision, so the plots show it settle on stable.
    time.sleep(REPORT_AFTER_DECISION_S)
    try:
        data = gather_from_client(api, NAMESPACE, NAME, prometheus)
        return write_report(data, out / "report").index
    except Exception as error:  # the rollout's outcome is what the demo judges
        _say(f"could not write the report: {error}")
        return None


def _when(moment: datetime | None) -> str:
    return moment.strftime("%H:%M:%S") if moment else "--:--:--"


def _wait_for_interrupt() -> None:
    try:
        signal.pause()
    except KeyboardInterrupt:
        return
