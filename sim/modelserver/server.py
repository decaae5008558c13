"""One simulated model-server pod: an aiohttp server on its own loopback port.

It answers the KServe V1 and V2 REST endpoints for its one served model, delays each prediction
by a latency drawn from its `ModelBehaviour` (slower while warming up after each start), fails
the configured share, and reports readiness only after the startup delay. A container restart
(a crash from the behaviour, or `restart()`) closes the listener, so callers see refused
connections, then reopens the same port with fresh metrics, as a restarted container in the same
pod would.

All methods except the read-only properties run on the host's event loop.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import socket
import time
from collections.abc import Awaitable, Callable

from aiohttp import web

from sim.mesh.istio import Peer
from sim.mesh.pod import PodIdentity
from sim.modelserver import protocol
from sim.modelserver.iris import IrisClassifier
from sim.modelserver.naming import ModelServerSpec
from sim.modelserver.telemetry import PodTelemetry

log = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _json(reply: protocol.Reply) -> web.Response:
    return web.Response(
        status=reply.status, body=json.dumps(reply.body).encode(), content_type="application/json"
    )


class ModelServer:
    """One model-server pod (see the module docstring)."""

    def __init__(self, spec: ModelServerSpec, pod: PodIdentity, *, seed: int | None = None) -> None:
        self.spec = spec
        self.pod = pod
        self.model_name = spec.model_name
        self.classifier = IrisClassifier.for_version(spec.behaviour.version)
        self.telemetry = PodTelemetry(pod)
        self.restarts = 0
        self._rng = random.Random(seed)
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._socket.bind(("127.0.0.1", 0))
        self.port: int = self._socket.getsockname()[1]
        self._runner: web.AppRunner | None = None
        self._started_at = 0.0
        self._crash_task: asyncio.Task[None] | None = None
        self._stopped = False

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def up(self) -> bool:
        """Whether the container is running (its port accepts connections)."""
        return self._runner is not None

    @property
    def uptime_s(self) -> float:
        """Seconds since the container last started (what a cold start is counted from)."""
        return time.monotonic() - self._started_at

    @property
    def ready(self) -> bool:
        """What the pod's readiness probe would say now."""
        behaviour = self.spec.behaviour
        if not self.up or behaviour.never_ready:
            return False
        return self.uptime_s >= behaviour.startup_s

    def metrics_text(self) -> str:
        return self.telemetry.exposition().decode()

    # --- lifecycle (event loop only) ---

    async def start(self) -> None:
        """Start the container: listen, with the startup delay and crash timer from now."""
        if self._stopped:
            return
        app = web.Application(middlewares=[self._sidecar])
        app.router.add_get("/", self._live)
        app.router.add_get("/metrics", self._metrics)
        app.router.add_get("/v1/models", self._v1_models)
        app.router.add_route("*", "/v1/models/{tail}", self._v1_model)
        app.router.add_get("/v2", self._v2_server)
        app.router.add_get("/v2/health/live", self._v2_live)
        app.router.add_get("/v2/health/ready", self._v2_ready)
        app.router.add_get("/v2/models/{name}", self._v2_metadata)
        app.router.add_get("/v2/models/{name}/ready", self._v2_model_ready)
        app.router.add_post("/v2/models/{name}/infer", self._v2_infer)
        runner = web.AppRunner(app, access_log=None, handle_signals=False, shutdown_timeout=0.1)
        await runner.setup()
        if self._socket.fileno() < 0:  # closed by the previous stop: bind the same port again
            self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            self._socket.bind(("127.0.0.1", self.port))
        site = web.SockSite(runner, self._socket)
        await site.start()
        self._runner = runner
        self._started_at = time.monotonic()
        crash_after = self.spec.behaviour.crash_after_s
        if crash_after is not None:
            self._crash_task = asyncio.create_task(self._crash_later(crash_after))

    async def restart(self) -> None:
        """Restart the model-server container: down, then up on the same port; its own
        metrics start from zero while the sidecars' carry on (the pod is the same)."""
        await self._halt()
        self.telemetry.restart_container()
        self.restarts += 1
        await self.start()

    async def stop(self) -> None:
        """Delete the pod: stop for good and free the port."""
        self._stopped = True
        await self._halt()
        self._socket.close()

    async def _halt(self) -> None:
        task, self._crash_task = self._crash_task, None
        if task is not None and task is not asyncio.current_task():
            task.cancel()
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()

    async def _crash_later(self, after_s: float) -> None:
        await asyncio.sleep(after_s)
        log.info("model server %s on port %d crashes", self.pod.pod_name, self.port)
        await self._halt()
        await asyncio.sleep(self.spec.behaviour.restart_s)
        if not self._stopped:
            self.telemetry.restart_container()
            self.restarts += 1
            await self.start()

    # --- HTTP ---

    @web.middleware
    async def _sidecar(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        """Count the request as the pod's Istio sidecar and queue-proxy would."""
        if request.path == "/metrics":  # Prometheus scrapes Istio's merged endpoint, not counted
            return await handler(request)
        sidecar = self.telemetry.sidecar
        started = time.monotonic()
        status = 500
        try:
            response = await handler(request)
            status = response.status
            return response
        except web.HTTPNotFound:
            status = 404  # FastAPI's answer for a path it does not serve
            return web.json_response({"detail": "Not Found"}, status=404)
        except web.HTTPMethodNotAllowed:
            status = 405
            return web.json_response({"detail": "Method Not Allowed"}, status=405)
        except web.HTTPException as exc:
            status = exc.status
            raise
        finally:
            duration_ms = (time.monotonic() - started) * 1000.0
            sidecar.record_request(Peer.from_headers(request.headers), status, duration_ms)

    async def _metrics(self, _: web.Request) -> web.Response:
        return web.Response(body=self.telemetry.exposition(), content_type="text/plain")

    async def _live(self, _: web.Request) -> web.Response:
        return _json(protocol.Reply(200, {"status": "alive"}))

    def _check_model(self, name: str) -> protocol.Reply | None:
        if name != self.model_name:
            return protocol.model_not_found(name)
        if not self.ready:
            return protocol.model_not_ready(name)
        return None

    async def _v1_models(self, _: web.Request) -> web.Response:
        return _json(protocol.Reply(200, {"models": [self.model_name]}))

    async def _v1_model(self, request: web.Request) -> web.Response:
        tail = request.match_info["tail"]
        name, _, verb = tail.partition(":")
        if request.method == "GET" and not verb:
            problem = self._check_model(name)
            return _json(problem or protocol.Reply(200, {"name": name, "ready": True}))
        if request.method != "POST" or verb not in ("predict", "explain"):
            raise web.HTTPNotFound()
        problem = self._check_model(name)
        if problem is not None:
            return _json(problem)
        body = await request.read()
        if verb == "explain":
            return _json(protocol.error(501, "explain is not implemented by this model"))
        rows = protocol.v1_rows(body)
        if isinstance(rows, protocol.Reply):
            return _json(rows)
        predictions = await self._predict(rows)
        if isinstance(predictions, protocol.Reply):
            return _json(predictions)
        return _json(protocol.v1_response(predictions))

    async def _predict(self, rows: list[list[float]]) -> list[int] | protocol.Reply:
        """One prediction with the behaviour's latency and failures, timed as KServe times it."""
        behaviour = self.spec.behaviour
        telemetry = self.telemetry.model_server
        labels = {"model_name": self.model_name}
        telemetry.preprocess.labels(**labels).observe(0.0)  # the iris model has no preprocessing
        started = time.monotonic()
        await asyncio.sleep(behaviour.draw_latency_s(self._rng, uptime_s=self.uptime_s))
        failed = behaviour.draw_failure(self._rng)
        predictions = [] if failed else self.classifier.predict(rows)
        telemetry.predict.labels(**labels).observe(time.monotonic() - started)
        telemetry.served += 1
        if failed:
            return protocol.error(behaviour.error_code, "Inference failed: simulated model error")
        telemetry.postprocess.labels(**labels).observe(0.0)
        return predictions

    async def _v2_server(self, _: web.Request) -> web.Response:
        return _json(protocol.v2_server_metadata())

    async def _v2_live(self, _: web.Request) -> web.Response:
        return _json(protocol.Reply(200, {"live": True}))

    async def _v2_ready(self, _: web.Request) -> web.Response:
        if not self.ready:
            return _json(protocol.Reply(503, {"ready": False}))
        return _json(protocol.Reply(200, {"ready": True}))

    async def _v2_metadata(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        if name != self.model_name:
            return _json(protocol.model_not_found(name))
        return _json(protocol.v2_model_metadata(name))

    async def _v2_model_ready(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        problem = self._check_model(name)
        return _json(problem or protocol.Reply(200, {"name": name, "ready": True}))

    async def _v2_infer(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        problem = self._check_model(name)
        if problem is not None:
            return _json(problem)
        request_body = protocol.v2_request(await request.read())
        if isinstance(request_body, protocol.Reply):
            return _json(request_body)
        predictions = await self._predict(request_body.rows)
        if isinstance(predictions, protocol.Reply):
            return _json(predictions)
        return _json(protocol.v2_response(self.model_name, request_body.request_id, predictions))
