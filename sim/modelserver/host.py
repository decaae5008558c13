"""Many model-server pods in one process, driven from synchronous code.

One process per model server would cost ~40 MB and a Python start each; a host keeps them all as
aiohttp servers on one event loop (its own, or one shared with the gateway), each on its own
loopback port, so ~50 pods fit on a 2-core machine.
"""

from __future__ import annotations

import logging
from types import TracebackType

from sim.background_loop import BackgroundLoop
from sim.mesh.pod import PodIdentity
from sim.modelserver.naming import ModelServerSpec
from sim.modelserver.server import ModelServer

log = logging.getLogger(__name__)

STOP_WAIT_S = 5.0

__all__ = ["ModelServer", "ModelServerHost"]


class ModelServerHost:
    """Starts, restarts and deletes model-server pods on a background event loop."""

    def __init__(self, loop: BackgroundLoop | None = None) -> None:
        self._own_loop = loop is None
        self._loop = loop or BackgroundLoop("model-servers")
        self._servers: list[ModelServer] = []

    def __enter__(self) -> ModelServerHost:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def servers(self) -> tuple[ModelServer, ...]:
        return tuple(self._servers)

    def start(self) -> None:
        self._loop.start()

    def launch(
        self, spec: ModelServerSpec, pod: PodIdentity, *, seed: int | None = None
    ) -> ModelServer:
        """Start a pod's model server; it listens (not necessarily ready) when this returns."""

        async def launch() -> ModelServer:
            server = ModelServer(spec, pod, seed=seed)
            await server.start()
            return server

        server = self._loop.run(launch())
        self._servers.append(server)
        return server

    def restart(self, server: ModelServer) -> None:
        """Restart the pod's model-server container: same port, its own counters from zero,
        startup delay again; the sidecars' counters carry on."""
        self._loop.run(server.restart())

    def replace(self, server: ModelServer, pod: PodIdentity | None = None) -> ModelServer:
        """Replace the pod (a rollout or eviction): the old one is deleted and a new one, with
        every counter from zero, listens on a new port. Callers update the Service's endpoints."""
        self.delete(server)
        return self.launch(server.spec, pod or server.pod)

    def delete(self, server: ModelServer) -> None:
        """Delete the pod: its server stops and its port is freed.

        Like a kubelet, the caller does not wait for a slow termination: a stop that takes
        longer than `STOP_WAIT_S` (a loop busy serving every other pod) finishes on its own."""
        if server in self._servers:
            self._servers.remove(server)
        try:
            self._loop.run(server.stop(), timeout=STOP_WAIT_S)
        except TimeoutError:
            log.warning("pod %s is still terminating; not waiting for it", server.pod.pod_name)

    def stop(self) -> None:
        """Delete every pod, and stop the loop if this host started it."""
        if self._loop.running:
            for server in list(self._servers):
                self.delete(server)
        if self._own_loop:
            self._loop.stop()
