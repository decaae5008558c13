"""A weight a router writes is the split real requests take through the local cluster's gateway.

The routers write through the API server; the gateway builds its routing table from the objects
read back from it (as the local cluster does) and forwards HTTP requests to two stub pods, one
behind the primary copy's Service and one behind the ISVC's. Counting who answered gives the split.
"""

from __future__ import annotations

import threading
import urllib.request
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from kubernetes import client as k8s_client

from reconcile.kube_store import KubeStore
from sim.gateway.directory import PodDirectory
from sim.gateway.proxy import Gateway
from sim.gateway.translate import build_routing_table
from sim.mesh.pod import PodIdentity
from traffic.gateway_api import HTTP_ROUTE, GatewayApiRouter
from traffic.istio import VIRTUAL_SERVICE, IstioRouter
from traffic.kserve import INFERENCE_SERVICE
from traffic.store import ObjectRef
from traffic.target import RouteTarget
from traffic.weighted_route import WeightedRouteRouter

REQUESTS = 200


class _Answer(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        body = self.server.name.encode()  # type: ignore[attr-defined]
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@dataclass
class StubPod:
    """A pod that answers every request with its Service's name."""

    server: ThreadingHTTPServer
    pod: PodIdentity
    ready: bool = True

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"


@pytest.fixture
def stub_pods(namespace: str) -> Iterator[PodDirectory]:
    directory = PodDirectory()
    servers: list[tuple[ThreadingHTTPServer, threading.Thread]] = []
    for service in ("iris-primary-predictor", "iris-predictor"):
        server = ThreadingHTTPServer(("127.0.0.1", 0), _Answer)
        server.name = service  # type: ignore[attr-defined]
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        servers.append((server, thread))
        identity = PodIdentity(namespace, f"{service}-0", service, service)
        directory.add(service, namespace, StubPod(server, identity))
    try:
        yield directory
    finally:
        for server, thread in servers:
            server.shutdown()
            server.server_close()
            thread.join(timeout=5)


@pytest.fixture
def gateway(stub_pods: PodDirectory) -> Iterator[Gateway]:
    proxy = Gateway(stub_pods, seed=7, retries=0)
    proxy.start()
    try:
        yield proxy
    finally:
        proxy.stop()


def split_taken(gateway: Gateway, store: KubeStore, route: ObjectRef, host: str) -> float:
    """The canary's share of REQUESTS sent through the gateway as an outside client would."""
    obj = store.get(route)
    assert obj is not None
    if route.resource is VIRTUAL_SERVICE:
        table = build_routing_table(virtual_services=[obj]).table
    else:
        table = build_routing_table(http_routes=[obj]).table
    gateway.set_routes(table)

    def send(_: int) -> str:
        request = urllib.request.Request(
            f"{gateway.url}/v1/models/iris:predict",
            data=b'{"instances": [[1, 2, 3, 4]]}',
            headers={"Host": host, "Content-Type": "application/json"},
            method="POST",
        )
        with urllib.request.urlopen(request, timeout=10) as reply:
            return str(reply.read().decode())

    with ThreadPoolExecutor(max_workers=8) as clients:
        answers = Counter(clients.map(send, range(REQUESTS)))
    return answers["iris-predictor"] / REQUESTS


@pytest.mark.parametrize("router_class", [IstioRouter, GatewayApiRouter])
def test_the_weight_a_router_sets_is_the_split_requests_take(
    kube_api_client: k8s_client.ApiClient,
    namespace: str,
    gateway: Gateway,
    router_class: type[WeightedRouteRouter],
) -> None:
    store = KubeStore(kube_api_client)
    isvc = store.create(
        ObjectRef(INFERENCE_SERVICE, namespace, "iris"),
        {"spec": {"predictor": {"model": {"modelFormat": {"name": "sklearn"}}}}},
    )
    host = f"iris-{namespace}.example.com"
    gateways = (
        ("knative-serving/knative-ingress-gateway",)
        if router_class is IstioRouter
        else ("kserve/kserve-ingress-gateway",)
    )
    target = RouteTarget(
        namespace=namespace,
        isvc_name="iris",
        isvc_uid=isvc["metadata"]["uid"],
        hosts=(host,),
        gateways=gateways,
    )
    router = router_class(store, target)
    resource = VIRTUAL_SERVICE if router_class is IstioRouter else HTTP_ROUTE
    route = ObjectRef(resource, namespace, "iris-kcanary")
    for weight in (0, 25, 100):
        router.set_weight(weight)
        share = split_taken(gateway, store, route, host)
        # Binomial(200, p): four standard deviations are at most 0.12 for p = 0.25.
        assert abs(share - weight / 100) <= 0.12, (weight, share)
