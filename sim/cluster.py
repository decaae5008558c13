"""`LocalCluster`: the parts of the local cluster, started and stopped together.

In start order: the API server (with kcanary's, KServe's, Istio's and Gateway API's CRDs); the
pods (model servers, on their own event loop) and the Deployment controller that runs them; the
KServe stand-in; the mesh gateway with its control plane (routes and Services read through the
API); the load generator (sending only when `load_rps` is set, or when a test asks); and the real
Prometheus, scraping the gateway, every model-server pod (target labels `namespace` and `pod`, as
the Prometheus Operator's pod monitors give them) and any `extra_scrape` address (no labels: the
controller's metrics carry their own `namespace`). Every controller part reaches the API server
through the `kubernetes` client only. Each part adds its `name: URL` line to `endpoints()`,
which `kcanary local-cluster` prints before `ready`.

The hostile switches of a real cluster are reachable from Python: `deployment_hostility` (old
pods that linger: overlapping rollouts; slow readiness), `kserve.hostility` (reverting edits to
the routes KServe owns), `restart_model_servers` / `replace_model_servers` (counters reset),
`restart_kserve`, and Prometheus's `freeze`/`thaw`/`stop_process`/`start_again`.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

from kubernetes import client as k8s_client
from kubernetes import config as k8s_config

from sim.apiserver.faults import Faults
from sim.apiserver.server import APIServer
from sim.background_loop import BackgroundLoop
from sim.deployment_controller import DeploymentController, DeploymentHostility
from sim.gateway.proxy import Gateway
from sim.kserve.context import KServeHostility
from sim.kserve.controller import KServeController
from sim.kserve.ingress_config import IngressConfig
from sim.kube_calls import KubeCalls
from sim.load import LoadGenerator
from sim.load_driver import LoadDriver
from sim.modelserver import ModelServerHost
from sim.pods import PodRecord, PodRegistry
from sim.prometheus import PrometheusRunner, ScrapeTarget
from sim.route_watch import RouteWatch, SelectorDirectory

GATEWAY_NAMESPACE = "istio-system"


@dataclass(frozen=True)
class LocalClusterConfig:
    """What to start; ports 0 pick free ones."""

    kubeconfig: Path
    api_port: int = 0
    host: str = "127.0.0.1"
    crd_dirs: tuple[Path, ...] | None = None
    faults: Faults | None = field(default=None, compare=False)
    load_rps: float = 0.0
    prometheus: bool = True
    extra_scrape: tuple[str, ...] = ()
    enable_gateway_api: bool = False
    gateway_port: int = 0
    seed: int | None = None


class LocalCluster:
    """Starts the parts in order and stops them in reverse order (see the module docstring)."""

    def __init__(self, config: LocalClusterConfig) -> None:
        self.config = config
        self.api_server = APIServer(
            port=config.api_port,
            host=config.host,
            crd_dirs=config.crd_dirs,
            faults=config.faults,
        )
        self.deployment_hostility = DeploymentHostility()
        self._pod_loop = BackgroundLoop("model-servers")
        self._gateway_loop = BackgroundLoop("gateway")
        self._load_loop = BackgroundLoop("load")
        self.model_servers = ModelServerHost(self._pod_loop)
        self.pods = PodRegistry(self.model_servers)
        self._clients: list[k8s_client.ApiClient] = []
        self.deployments: DeploymentController | None = None
        self.kserve: KServeController | None = None
        self.route_watch: RouteWatch | None = None
        self.gateway: Gateway | None = None
        self.load: LoadGenerator | None = None
        self.load_driver: LoadDriver | None = None
        self.prometheus: PrometheusRunner | None = None
        self._gateway_pod = f"istio-ingressgateway-{secrets.token_hex(5)}-{secrets.token_hex(3)}"
        self._extra_scrape = list(config.extra_scrape)
        self._targets_lock = threading.Lock()
        self._started = False
        self.started_in_s = 0.0  # how long the last start() took to ready

    # --- lifecycle ---

    def start(self) -> LocalCluster:
        """Start every part; returns once all are ready (Prometheus has scraped every target)."""
        began = time.monotonic()
        self.api_server.start()
        self._started = True
        try:
            self.api_server.write_kubeconfig(self.config.kubeconfig)
            self._start_parts()
        except BaseException:
            self.stop()
            raise
        self.started_in_s = time.monotonic() - began
        return self

    def _start_parts(self) -> None:
        for loop in (self._pod_loop, self._gateway_loop, self._load_loop):
            loop.start()
        self.model_servers.start()
        self.deployments = DeploymentController(self._calls(), self.pods, self.deployment_hostility)
        self.deployments.start()
        self.kserve = KServeController(
            self._calls(), enable_gateway_api=self.config.enable_gateway_api
        )
        self.kserve.start()
        self.route_watch = RouteWatch(self._calls())
        directory = SelectorDirectory(self.route_watch.services, self.pods)
        self.gateway = Gateway(directory, loop=self._gateway_loop, seed=self.config.seed)
        self.gateway.start(port=self.config.gateway_port)
        self.route_watch.start(self.gateway)
        self.load = LoadGenerator(self.gateway.url, loop=self._load_loop, seed=self.config.seed)
        self.load.start()
        if self.config.load_rps > 0:
            self.set_load(self.config.load_rps)
        if self.config.prometheus:
            self.prometheus = PrometheusRunner()
            self.prometheus.set_targets(self._scrape_targets())
            self.pods.on_change(self._update_targets)
            self.prometheus.start()

    def _calls(self) -> KubeCalls:
        """A client of its own for each controller part, as separate processes would have."""
        configuration = k8s_client.Configuration()
        k8s_config.load_kube_config(  # type: ignore[no-untyped-call]
            config_file=str(self.config.kubeconfig), client_configuration=configuration
        )
        configuration.connection_pool_maxsize = 16
        api_client = k8s_client.ApiClient(configuration)
        self._clients.append(api_client)
        return KubeCalls(api_client)

    def stop(self) -> None:
        """Stop every part; nothing started by the cluster is left running."""
        if not self._started:
            return
        self._started = False
        if self.load_driver is not None:
            self.load_driver.stop()
        if self.load is not None:
            self.load.stop(drain_s=2.0)
        with self._targets_lock:  # no pod change may write a targets file into a removed folder
            prometheus, self.prometheus = self.prometheus, None
        if prometheus is not None:
            prometheus.stop()
        if self.route_watch is not None:
            self.route_watch.stop()
        if self.gateway is not None:
            self.gateway.stop()
        if self.kserve is not None:
            self.kserve.stop()
        if self.deployments is not None:
            self.deployments.stop()
        self.pods.stop()
        self.model_servers.stop()
        for loop in (self._load_loop, self._gateway_loop, self._pod_loop):
            loop.stop()
        for api_client in self._clients:
            api_client.close()  # type: ignore[no-untyped-call]
        self._clients.clear()
        self.api_server.stop()

    def endpoints(self) -> list[tuple[str, str]]:
        """(name, URL) of every part, in the order the command prints them."""
        found = [("api-server", self.api_server.url)]
        if self.gateway is not None:
            found.append(("gateway", self.gateway.url))
        if self.prometheus is not None:
            found.append(("prometheus", self.prometheus.url))
        return found

    def __enter__(self) -> LocalCluster:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    # --- Prometheus targets ---

    def _scrape_targets(self) -> list[ScrapeTarget]:
        targets = []
        if self.gateway is not None:
            targets.append(
                ScrapeTarget(
                    f"127.0.0.1:{self.gateway.metrics_port}",
                    {"namespace": GATEWAY_NAMESPACE, "pod": self._gateway_pod},
                )
            )
        for pod in self.pods.all():
            targets.append(
                ScrapeTarget(pod.metrics_address, {"namespace": pod.namespace, "pod": pod.name})
            )
        targets.extend(ScrapeTarget(address) for address in self._extra_scrape)
        return targets

    def _update_targets(self) -> None:
        with self._targets_lock:
            if self.prometheus is not None:
                self.prometheus.set_targets(self._scrape_targets())

    def add_scrape_target(self, address: str) -> None:
        """Have Prometheus scrape `host:port` too (as `--scrape` does), without extra labels."""
        self._extra_scrape.append(address)
        self._update_targets()

    # --- hostile switches and helpers for tests ---

    @property
    def kserve_hostility(self) -> KServeHostility:
        assert self.kserve is not None, "the local cluster is not started"
        return self.kserve.hostility

    def pods_of(self, namespace: str, workload: str) -> Sequence[PodRecord]:
        """The running pods of a Deployment (`<isvc>-predictor`, `<revision>-deployment`)."""
        return self.pods.owned_by(namespace, workload)

    def restart_model_servers(self, namespace: str, workload: str) -> None:
        """Restart the containers of a workload's pods: same pods, every counter from zero."""
        for pod in self.pods.owned_by(namespace, workload):
            self.pods.restart_pod(pod)

    def replace_model_servers(self, namespace: str, workload: str) -> None:
        """Delete a workload's pods; its Deployment starts new ones (new names, fresh counters)."""
        for pod in self.pods.owned_by(namespace, workload):
            self.pods.delete_pod(pod)

    def set_load(self, rps: float) -> None:
        """Send `rps` (Poisson) to every ready ISVC's public host from now on, as `--load` does."""
        assert self.load is not None and self.kserve is not None, "the local cluster is not started"
        if self.load_driver is None:
            self.load_driver = LoadDriver(self._calls(), self.load, rps, self._ingress_config)
            self.load_driver.start()
        else:
            self.load_driver.set_rate(rps)

    def _ingress_config(self) -> IngressConfig:
        """KServe's ingress settings as the current KServe stand-in reads them."""
        assert self.kserve is not None, "the local cluster is not started"
        return self.kserve.config()

    def restart_kserve(self) -> None:
        """Stop the KServe stand-in and start a new one, which adopts what is running."""
        assert self.kserve is not None, "the local cluster is not started"
        hostility = self.kserve.hostility
        self.kserve.stop()
        self.kserve = KServeController(
            self._calls(), hostility=hostility, enable_gateway_api=self.config.enable_gateway_api
        )
        self.kserve.start()

    def api_client(self) -> k8s_client.ApiClient:
        """A `kubernetes` ApiClient for the cluster (closed by `stop()`)."""
        return self._calls().api_client
