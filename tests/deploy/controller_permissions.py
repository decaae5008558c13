"""Running `kcanary controller` as the shipped ServiceAccount, with the shipped RBAC or that RBAC
less one rule, each run in a namespace of its own on the session's local cluster.

A run installs the RBAC documents of `kubectl kustomize deploy/` for its own ServiceAccount (the
same rules; only names, the subjects' namespace and the leader-election namespace are changed so
that runs side by side do not share a binding or a Lease), starts the controller with a kubeconfig
holding that account's token, and drives one rollout as a user would: an ISVC with a stable
model, load through the gateway, then a good canary model. It ends when the canary is promoted,
when the controller logs a 403, or when `give_up` says so.
"""

from __future__ import annotations

import copy
import os
import re
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sim.cluster import LocalCluster
from sim.kube_calls import INFERENCE_SERVICES, Kind, KubeCalls
from sim.load import Target
from sim.ports import listen_port

REPO = Path(__file__).resolve().parents[2]
ACCOUNT = "kcanary-controller"
SHIPPED_NAMESPACE = "kcanary-system"
# The namespace deploy/namespaced/ grants its Role in (the one the controller watches).
WATCHED_NAMESPACE = "models"
ROLLOUTS = Kind("kcanary.io", "v1alpha1", "inferencerollouts")
STABLE_URI = "sim://iris/v1?p50_ms=20&sigma=0.25&error_rate=0.01"
CANARY_URI = "sim://iris/v2?p50_ms=20&sigma=0.25&error_rate=0.01"
RBAC_KINDS = {
    "ServiceAccount": Kind("", "v1", "serviceaccounts"),
    "ClusterRole": Kind("rbac.authorization.k8s.io", "v1", "clusterroles", namespaced=False),
    "ClusterRoleBinding": Kind(
        "rbac.authorization.k8s.io", "v1", "clusterrolebindings", namespaced=False
    ),
    "Role": Kind("rbac.authorization.k8s.io", "v1", "roles"),
    "RoleBinding": Kind("rbac.authorization.k8s.io", "v1", "rolebindings"),
}
FORBIDDEN = re.compile(r"is forbidden: User \"system:serviceaccount:[^\"]+\" cannot [^\n]*")
LOAD_RPS = 20.0


@dataclass(frozen=True)
class RuleRef:
    """One `rules[]` entry of one shipped Role or ClusterRole."""

    kind: str
    name: str
    index: int
    rule: Mapping[str, Any]

    @property
    def id(self) -> str:
        groups = ",".join(self.rule.get("apiGroups") or []) or "core"
        resources = ",".join(self.rule.get("resources") or self.rule.get("nonResourceURLs") or [])
        names = self.rule.get("resourceNames")
        named = f"[{','.join(names)}]" if names else ""
        return f"{self.kind}/{self.name}#{self.index}:{groups}/{resources}{named}"


def shipped_rules(documents: list[dict[str, Any]]) -> list[RuleRef]:
    """Every rule of every Role and ClusterRole among `documents`, in order."""
    found = []
    for document in documents:
        if document.get("kind") in ("Role", "ClusterRole"):
            for index, rule in enumerate(document.get("rules") or []):
                found.append(RuleRef(document["kind"], document["metadata"]["name"], index, rule))
    return found


def rbac_for_run(
    documents: list[dict[str, Any]], namespace: str, without: RuleRef | None
) -> list[dict[str, Any]]:
    """The shipped ServiceAccount, roles and bindings, made this run's own: the account, its
    leader-election Role and (namespaced variant) the watched namespace's Role live in
    `namespace`, names get `namespace` appended, and the rule `without` is left out."""
    moved = (SHIPPED_NAMESPACE, WATCHED_NAMESPACE)
    result = []
    for original in documents:
        kind = original.get("kind")
        if kind not in RBAC_KINDS:
            continue
        document = copy.deepcopy(original)
        metadata = document["metadata"]
        if without is not None and (kind, metadata["name"]) == (without.kind, without.name):
            del document["rules"][without.index]
        if metadata.get("namespace") in moved:
            metadata["namespace"] = namespace
        if kind != "ServiceAccount":
            metadata["name"] = f"{metadata['name']}-{namespace}"
        if "roleRef" in document:
            document["roleRef"]["name"] = f"{document['roleRef']['name']}-{namespace}"
        for subject in document.get("subjects") or []:
            if subject.get("namespace") in moved:
                subject["namespace"] = namespace
        result.append(document)
    return result


def isvc(name: str, namespace: str, router: str) -> dict[str, Any]:
    """A user's ISVC with a short two-step canary strategy."""
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
                "kcanary.io/traffic": router,
                "kcanary.io/steps": "20,50",
                "kcanary.io/interval": "1s",
                "kcanary.io/step-duration": "4s",
                "kcanary.io/warmup": "0s",  # the local cluster's model servers start warm
                "kcanary.io/metrics": "istio",
                "kcanary.io/analysis": "progressDeadline: 1m\n",
            },
        },
        "spec": {
            "predictor": {"model": {"modelFormat": {"name": "sklearn"}, "storageUri": STABLE_URI}}
        },
    }


@dataclass(frozen=True)
class RunResult:
    """How one run ended."""

    namespace: str
    promoted: bool
    forbidden: tuple[str, ...]  # the controller's logged 403 messages
    last_status: Mapping[str, Any]
    log: str


class PermissionRun:
    """One controller, its ServiceAccount and its ISVC; `run()` drives it to an end."""

    def __init__(
        self,
        cluster: LocalCluster,
        documents: list[dict[str, Any]],
        namespace: str,
        *,
        without: RuleRef | None,
        router: str,
        workdir: Path,
    ) -> None:
        self.cluster = cluster
        self.calls = KubeCalls(cluster.api_client())
        self.documents = rbac_for_run(documents, namespace, without)
        self.namespace = namespace
        self.router = router
        self.workdir = workdir
        self.log_path = workdir / "controller.log"
        self._process: subprocess.Popen[bytes] | None = None

    def log_text(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def forbidden(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(FORBIDDEN.findall(self.log_text())))

    def _install(self) -> Path:
        self.calls.create(
            Kind("", "v1", "namespaces", namespaced=False),
            "",
            {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": self.namespace}},
        )
        for document in self.documents:
            kind = RBAC_KINDS[document["kind"]]
            self.calls.create(kind, document["metadata"].get("namespace", ""), document)
        server = self.cluster.api_server
        token = server.service_account_token(self.namespace, ACCOUNT)
        return server.write_kubeconfig(self.workdir / "kubeconfig", token=token)

    def _start(self, kubeconfig: Path) -> None:
        prometheus = self.cluster.prometheus
        assert prometheus is not None, "the permission test needs the cluster's Prometheus"
        command = [
            sys.executable, "-m", "kcanary", "controller",
            "--kubeconfig", str(kubeconfig),
            "--prometheus-url", prometheus.url,
            "--namespace", self.namespace,
            "--metrics-addr", f"127.0.0.1:{listen_port()}",
            "--health-addr", f"127.0.0.1:{listen_port()}",
            "--leader-elect",
            "--lease-namespace", self.namespace,
            "--lease-duration", "6s",
            "--renew-deadline", "4s",
            "--retry-period", "1s",
        ]  # fmt: skip
        env = {k: v for k, v in os.environ.items() if not k.startswith("KCANARY_")}
        with self.log_path.open("ab") as log:
            self._process = subprocess.Popen(
                command, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=REPO
            )

    def _status(self) -> dict[str, Any]:
        rollout = self.calls.get(ROLLOUTS, self.namespace, "iris") or {}
        return dict(rollout.get("status") or {})

    def _set_load(self, rps: float) -> None:
        kserve, load = self.cluster.kserve, self.cluster.load
        assert kserve is not None and load is not None
        host = kserve.config().host("iris", self.namespace)
        load.set_rate(Target(host, "iris"), rps)

    def run(self, give_up: Callable[[], bool]) -> RunResult:
        """Drive the rollout until it is promoted, a 403 is logged, or `give_up()`."""
        self.workdir.mkdir(parents=True, exist_ok=True)
        self._start(self._install())
        self.calls.create(
            INFERENCE_SERVICES, self.namespace, isvc("iris", self.namespace, self.router)
        )
        status: dict[str, Any] = {}
        changed = False
        promoted = False
        try:
            while not promoted and not self.forbidden() and not give_up():
                status = self._status()
                history = status.get("history") or []
                if not changed and status.get("phase") == "Stable":
                    self._set_load(LOAD_RPS)
                    patch = {"spec": {"predictor": {"model": {"storageUri": CANARY_URI}}}}
                    self.calls.patch(INFERENCE_SERVICES, self.namespace, "iris", patch)
                    changed = True
                elif changed and status.get("phase") == "Stable" and history:
                    last = history[-1]
                    promoted = last.get("storageUri") == CANARY_URI and bool(last.get("finishedAt"))
                if not promoted:
                    threading.Event().wait(0.25)
        finally:
            self._set_load(0)
            self.stop()
        return RunResult(self.namespace, promoted, self.forbidden(), status, self.log_text())

    def stop(self) -> None:
        process = self._process
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
