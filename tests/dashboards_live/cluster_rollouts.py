"""Real rollouts on the session's local cluster, each watched by a controller of its own.

A test area that needs a rollout starts `kcanary controller` as a subprocess restricted with
`--namespace` to its own namespace (other areas run theirs side by side on the same cluster),
registers its `/metrics` with the cluster's Prometheus, and drives InferenceServices through the
API as a user's CI would. Rollouts are made short (1 s analysis, 8 s steps) so a test area's
rollouts end within a few tens of seconds.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import requests
from kubernetes import client as k8s_client
from polling import wait_until

from kcanary.demo_scenarios import STABLE_URI
from sim.cluster import LocalCluster
from sim.load import Target
from sim.ports import listen_port

GROUP, VERSION, PLURAL = "kcanary.io", "v1alpha1", "inferencerollouts"
ISVC = ("serving.kserve.io", "v1beta1")
GOOD_URI = "sim://iris/v2?p50_ms=20&sigma=0.25&error_rate=0.01"
FAILING_URI = "sim://iris/v2?p50_ms=20&sigma=0.25&error_rate=0.25"
ENDED = ("Stable", "RolledBack", "Aborted")
LOAD_RPS = 40.0
"""Requests per second to each ISVC: enough for a 25% error rate to be evidence within seconds."""


def set_load(cluster: LocalCluster, namespace: str, name: str, rps: float) -> None:
    """Poisson load to one ISVC's public host through the gateway (0 stops it). Per ISVC, not
    the cluster-wide `set_load`: other areas' ISVCs on the shared cluster keep their own."""
    assert cluster.load is not None and cluster.kserve is not None, "the cluster is not started"
    cluster.load.set_rate(Target(cluster.kserve.config().host(name, namespace), name), rps)


def prometheus_url(cluster: LocalCluster) -> str:
    return dict(cluster.endpoints())["prometheus"]


POLL_EVERY_S = 0.25
"""Between two checks of a rollout or of Prometheus on the shared cluster: rollouts take tens of
seconds, and more frequent queries would only load the machine the other areas share."""


def scraped_series(prometheus: str, selector: str, count: int) -> bool | None:
    """True once Prometheus has `count` series for `selector` (None before, for `wait_until`)."""
    response = requests.get(
        f"{prometheus}/api/v1/query", params={"query": f"count({selector})"}, timeout=5
    )
    result = response.json()["data"]["result"]
    return True if result and int(float(result[0]["value"][1])) >= count else None


@contextmanager
def controller(cluster: LocalCluster, namespace: str, log: Path) -> Iterator[int]:
    """`kcanary controller --namespace NAMESPACE` against the cluster; yields its metrics port,
    which the cluster's Prometheus scrapes. Stopped (SIGTERM, then kill) on exit."""
    metrics_port, health_port = listen_port(), listen_port()
    command = [
        sys.executable, "-m", "kcanary", "controller",
        "--kubeconfig", str(cluster.config.kubeconfig),
        "--namespace", namespace,
        "--prometheus-url", prometheus_url(cluster),
        "--metrics-addr", f"127.0.0.1:{metrics_port}",
        "--health-addr", f"127.0.0.1:{health_port}",
        "--no-leader-elect",
    ]  # fmt: skip
    env = {k: v for k, v in os.environ.items() if not k.startswith("KCANARY_")}
    with log.open("wb") as output:
        process = subprocess.Popen(command, stdout=output, stderr=subprocess.STDOUT, env=env)
    try:

        def ready() -> bool | None:
            assert process.poll() is None, f"the controller exited; see {log}"
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{health_port}/readyz", timeout=1):
                    return True
            except OSError:
                return None

        wait_until(ready, 30, "the controller to be ready", interval_s=POLL_EVERY_S)
        cluster.add_scrape_target(f"127.0.0.1:{metrics_port}")
        yield metrics_port
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def inference_service(
    name: str, namespace: str, *, router: str, steps: str = "20,50", metrics: str | None = None
) -> dict[str, Any]:
    serverless = router == "kserve"
    annotations = {
        "serving.kserve.io/deploymentMode": "Serverless" if serverless else "RawDeployment",
        "kcanary.io/strategy": "canary",
        "kcanary.io/traffic": router,
        "kcanary.io/steps": steps,
        "kcanary.io/interval": "1s",
        "kcanary.io/step-duration": "8s",
        "kcanary.io/warmup": "0s",  # the local cluster's model servers start warm
        "kcanary.io/metrics": metrics or ("knative" if serverless else "istio"),
    }
    labels = {} if serverless else {"networking.kserve.io/visibility": "cluster-local"}
    return {
        "apiVersion": "serving.kserve.io/v1beta1",
        "kind": "InferenceService",
        "metadata": {
            "name": name, "namespace": namespace, "labels": labels, "annotations": annotations,
        },
        "spec": {
            "predictor": {
                "model": {"modelFormat": {"name": "sklearn"}, "storageUri": STABLE_URI},
            }
        },
    }  # fmt: skip


@dataclass(frozen=True)
class LiveRollouts:
    """Rollouts that have ended in `namespace`, and the Prometheus that watched them."""

    namespace: str
    prometheus: str
    started: float
    """Unix time before the first ISVC was applied."""


@dataclass(frozen=True)
class Rollouts:
    """InferenceServices of one namespace, driven through the API."""

    api: k8s_client.ApiClient
    namespace: str

    @property
    def _custom(self) -> k8s_client.CustomObjectsApi:
        return k8s_client.CustomObjectsApi(self.api)

    def apply(self, isvc: dict[str, Any]) -> None:
        self._custom.create_namespaced_custom_object(
            *ISVC, self.namespace, "inferenceservices", isvc
        )

    def status(self, name: str) -> dict[str, Any]:
        found: Any
        try:
            found = self._custom.get_namespaced_custom_object(
                GROUP, VERSION, self.namespace, PLURAL, name
            )
        except k8s_client.exceptions.ApiException as error:
            if error.status == 404:
                return {}
            raise
        return dict(found.get("status") or {})

    def phase(self, name: str) -> str | None:
        phase = self.status(name).get("phase")
        return str(phase) if phase else None

    def in_phase(self, name: str, phase: str) -> bool | None:
        """True once the rollout is in `phase` (None before, for `wait_until`)."""
        return True if self.phase(name) == phase else None

    def change_model(self, name: str, uri: str) -> None:
        patch = {"spec": {"predictor": {"model": {"storageUri": uri}}}}
        self._custom.patch_namespaced_custom_object(
            *ISVC, self.namespace, "inferenceservices", name, patch
        )

    def act(self, name: str, action: str) -> None:
        patch = {"metadata": {"annotations": {"kcanary.io/action": action}}}
        self._custom.patch_namespaced_custom_object(
            *ISVC, self.namespace, "inferenceservices", name, patch
        )

    def finished(self, name: str) -> dict[str, Any] | None:
        """The status once the latest rollout has an outcome, else None."""
        status = self.status(name)
        history = status.get("history") or []
        if status.get("phase") in ENDED and history and history[-1].get("finishedAt"):
            return status
        return None
