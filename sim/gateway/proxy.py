"""The ingress gateway's proxy: route by Host, split by weight, forward over real HTTP.

Behaves as Istio's ingress gateway (Envoy) does where a test can see it:
- no rule for the host or path: 404 with an empty body (Envoy's `NR`);
- a Service with no ready pod: 503 `no healthy upstream` (`UH`);
- all backend weights zero: 500 (Gateway API's rule; Istio rejects such routes);
- a refused connection or a 503 answer is retried on another pod, at most twice (Istio's default
  retry policy: connect-failure, refused-stream, unavailable, cancelled, 503); when the retries
  run out, a last 503 answer is passed on, and a last refused connection becomes 503 `upstream
  connect error or disconnect/reset before headers. reset reason: connection failure` (`UF,URX`);
  a pod that drops a request it already took gives 503 `... reset reason: connection termination`
  (`UC`), not retried;
- mirrored requests go to the mirror with `-shadow` appended to the Host; their answers are
  dropped and the gateway does not count them (the mirror's sidecar does).
It counts every routed request once with `reporter="source"` (destination = the pod that
answered) on its own metrics port, which outlives any pod; requests that match no route are not
counted. Each forwarded request carries the gateway's identity in Istio's peer-metadata header,
so the pod's sidecar labels it with `source_workload="istio-ingressgateway"`.
"""

from __future__ import annotations

import asyncio
import logging
import random
import threading
import time
from collections import Counter
from collections.abc import Mapping

import aiohttp
from aiohttp import web
from multidict import CIMultiDict

from sim.background_loop import BackgroundLoop
from sim.gateway.directory import Endpoint, ServiceDirectory
from sim.gateway.routing import Backend, RoutingTable
from sim.mesh.istio import (
    INGRESS_GATEWAY,
    PEER_METADATA_HEADER,
    DestinationService,
    IstioRequestMetrics,
)
from sim.mesh.series import exposition

log = logging.getLogger(__name__)

NO_HEALTHY_UPSTREAM = "no healthy upstream"
_RESET = "upstream connect error or disconnect/reset before headers. reset reason: "
CONNECT_FAILURE = _RESET + "connection failure"
TERMINATED = _RESET + "connection termination"
UPSTREAM_TIMEOUT = "upstream request timeout"

# Hop-by-hop headers a proxy must not forward (RFC 9110 section 7.6.1), plus what aiohttp sets.
_HOP_BY_HOP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-connection",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "content-length",
        PEER_METADATA_HEADER,
    }
)


class Gateway:
    """The ingress gateway: `url` takes traffic, `metrics_url` serves its Istio metrics."""

    def __init__(
        self,
        directory: ServiceDirectory,
        *,
        loop: BackgroundLoop | None = None,
        retries: int = 2,
        timeout_s: float = 60.0,
        seed: int | None = None,
    ) -> None:
        self._directory = directory
        self._own_loop = loop is None
        self._loop = loop or BackgroundLoop("gateway")
        self._retries = retries
        self._timeout_s = timeout_s
        self._rng = random.Random(seed)
        self._table = RoutingTable()
        self.metrics = IstioRequestMetrics()
        self._sent: Counter[tuple[str, str]] = Counter()
        """Requests sent upstream per (namespace, workload), counted when sent, as Envoy's
        upstream_rq_total is: Istio's metrics count a request when it completes."""
        self._sent_lock = threading.Lock()
        self._session: aiohttp.ClientSession | None = None
        self._runners: list[web.AppRunner] = []
        self._shadows: set[asyncio.Task[None]] = set()  # mirrored requests in flight
        self.port = 0
        self.metrics_port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def metrics_url(self) -> str:
        return f"http://127.0.0.1:{self.metrics_port}/metrics"

    @property
    def routes(self) -> RoutingTable:
        return self._table

    def set_routes(self, table: RoutingTable) -> None:
        """Swap in a new routing table; requests already routed keep their backend."""
        self._table = table

    def sent_by_workload(self, namespace: str) -> Counter[str]:
        """Requests sent so far to the pods of each workload in `namespace`, counted when each
        left the gateway (a request to a slow pod counts for the route that sent it)."""
        with self._sent_lock:
            return Counter(
                {workload: n for (ns, workload), n in self._sent.items() if ns == namespace}
            )

    def metrics_text(self) -> str:
        return exposition(self.metrics.families).decode()

    def start(self, port: int = 0, metrics_port: int = 0) -> None:
        self._loop.start()
        self._loop.run(self._start(port, metrics_port))

    def stop(self) -> None:
        if self._loop.running:
            self._loop.run(self._stop())
        if self._own_loop:
            self._loop.stop()

    async def _start(self, port: int, metrics_port: int) -> None:
        # A bounded keep-alive pool per pod, as Envoy's: bursts wait for a pooled connection
        # instead of opening (and tearing down) one per request, which collapses under load.
        connector = aiohttp.TCPConnector(limit=0, limit_per_host=64, keepalive_timeout=30)
        self._session = aiohttp.ClientSession(
            connector=connector,
            auto_decompress=False,
            timeout=aiohttp.ClientTimeout(total=self._timeout_s),
            skip_auto_headers=("User-Agent", "Accept-Encoding", "Content-Type"),
        )
        proxy_app = web.Application(client_max_size=16 * 1024 * 1024)
        proxy_app.router.add_route("*", "/{path:.*}", self._proxy)
        admin_app = web.Application()
        admin_app.router.add_get("/metrics", self._metrics)
        self.port = await self._serve(proxy_app, port)
        self.metrics_port = await self._serve(admin_app, metrics_port)

    async def _serve(self, app: web.Application, port: int) -> int:
        runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=0.1)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", port, reuse_address=True)
        await site.start()
        self._runners.append(runner)
        server = site._server
        assert server is not None
        sockets = getattr(server, "sockets", None) or []
        return int(sockets[0].getsockname()[1])

    async def _stop(self) -> None:
        if self._shadows:
            await asyncio.wait(list(self._shadows), timeout=2)
        for shadow in list(self._shadows):
            shadow.cancel()
        for runner in self._runners:
            await runner.cleanup()
        self._runners.clear()
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def _metrics(self, _: web.Request) -> web.Response:
        return web.Response(body=exposition(self.metrics.families), content_type="text/plain")

    async def _proxy(self, request: web.Request) -> web.StreamResponse:
        started = time.monotonic()
        host = request.headers.get("Host", "")
        rule = self._table.route(host, request.path, request.headers)
        if rule is None:
            return web.Response(status=404, headers={"server": "istio-envoy"})
        backend = rule.pick_backend(self._rng)
        if backend is None:
            return web.Response(status=500, headers={"server": "istio-envoy"})
        body = await request.read()
        headers = _forwarded_headers(request.headers)
        if rule.mirror is not None and self._rng.uniform(0, 100) < rule.mirror_percent:
            shadow = asyncio.create_task(self._shadow(rule.mirror, request, headers, body))
            self._shadows.add(shadow)
            shadow.add_done_callback(self._shadows.discard)
        return await self._forward(backend, request, headers, body, started)

    async def _forward(
        self,
        backend: Backend,
        request: web.Request,
        headers: CIMultiDict[str],
        body: bytes,
        started: float,
    ) -> web.StreamResponse:
        service = DestinationService(backend.service, backend.namespace)
        endpoints = list(self._directory.endpoints(backend.service, backend.namespace))
        if not endpoints:
            return self._local_reply(service, None, 503, NO_HEALTHY_UPSTREAM, "UH", started)
        tried: list[Endpoint] = []
        endpoint = self._rng.choice(endpoints)
        for attempt in range(self._retries + 1):
            tried.append(endpoint)
            with self._sent_lock:
                self._sent[(endpoint.pod.namespace, endpoint.pod.workload)] += 1
            try:
                response = await self._send(endpoint, request, headers, body)
            except (aiohttp.ClientConnectorError, ConnectionRefusedError):
                response = None  # never reached the pod: Istio retries connect failures
            except (aiohttp.ClientConnectionError, ConnectionError):
                # The pod went away mid-request; a reset is not in Istio's default retryOn.
                return self._local_reply(service, endpoint, 503, TERMINATED, "UC", started)
            except TimeoutError:
                return self._local_reply(service, endpoint, 504, UPSTREAM_TIMEOUT, "UT", started)
            final = attempt == self._retries
            if response is not None and (response[0] != 503 or final):
                status, reply_headers, reply_body = response
                elapsed_ms = (time.monotonic() - started) * 1000.0
                self._record(service, endpoint, status, "-", elapsed_ms)
                out = web.Response(status=status, body=reply_body, headers=reply_headers)
                out.headers["x-envoy-upstream-service-time"] = str(int(elapsed_ms))
                out.headers["server"] = "istio-envoy"
                return out
            if final:
                break
            # Istio's retry policy avoids hosts already tried when it can.
            fresh = [e for e in self._directory.endpoints(backend.service, backend.namespace)]
            untried = [e for e in fresh if e not in tried] or fresh
            if not untried:
                return self._local_reply(service, None, 503, NO_HEALTHY_UPSTREAM, "UH", started)
            endpoint = self._rng.choice(untried)
        # Envoy adds URX when it gave up because the retry limit was reached.
        flags = "UF,URX" if self._retries else "UF"
        return self._local_reply(service, endpoint, 503, CONNECT_FAILURE, flags, started)

    async def _send(
        self, endpoint: Endpoint, request: web.Request, headers: CIMultiDict[str], body: bytes
    ) -> tuple[int, CIMultiDict[str], bytes]:
        assert self._session is not None
        async with self._session.request(
            request.method,
            endpoint.url + request.path_qs,
            headers=headers,
            data=body if body else None,
            allow_redirects=False,
        ) as upstream:
            reply_body = await upstream.read()
            reply_headers = CIMultiDict(
                (k, v) for k, v in upstream.headers.items() if k.lower() not in _HOP_BY_HOP
            )
            return upstream.status, reply_headers, reply_body

    async def _shadow(
        self, backend: Backend, request: web.Request, headers: CIMultiDict[str], body: bytes
    ) -> None:
        endpoints = list(self._directory.endpoints(backend.service, backend.namespace))
        if not endpoints:
            return
        shadow_headers = CIMultiDict(headers)
        shadow_headers["Host"] = shadow_headers.get("Host", "") + "-shadow"
        try:
            await self._send(self._rng.choice(endpoints), request, shadow_headers, body)
        except (aiohttp.ClientError, ConnectionError, TimeoutError):
            log.debug("mirrored request to %s failed", backend.service)

    def _local_reply(
        self,
        service: DestinationService,
        endpoint: Endpoint | None,
        status: int,
        text: str,
        flags: str,
        started: float,
    ) -> web.Response:
        self._record(service, endpoint, status, flags, (time.monotonic() - started) * 1000.0)
        return web.Response(
            status=status, text=text, content_type="text/plain", headers={"server": "istio-envoy"}
        )

    def _record(
        self,
        service: DestinationService,
        endpoint: Endpoint | None,
        status: int,
        flags: str,
        elapsed_ms: float,
    ) -> None:
        self.metrics.record(
            reporter="source",
            source=INGRESS_GATEWAY,
            service=service,
            pod=endpoint.pod if endpoint is not None else None,
            response_code=status,
            response_flags=flags,
            duration_ms=elapsed_ms,
        )


def _forwarded_headers(incoming: Mapping[str, str]) -> CIMultiDict[str]:
    headers = CIMultiDict((k, v) for k, v in incoming.items() if k.lower() not in _HOP_BY_HOP)
    headers[PEER_METADATA_HEADER] = INGRESS_GATEWAY.header_value()
    headers.setdefault("x-forwarded-proto", "http")
    return headers
