"""`APIServer`: the local Kubernetes API server, running in a thread of its own.

It serves HTTPS with a certificate from a throw-away CA and accepts one bearer token, like a
cluster reached through a service-account kubeconfig. `start()` returns once it listens and the
CRDs from its CRD directories are installed and Established; `stop()` ends open watches and
frees the port. Tests reach its fault switches (`faults`) and request counts (`requests`) from
their own thread.
"""

from __future__ import annotations

import asyncio
import secrets
import tempfile
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from pathlib import Path
from types import TracebackType
from typing import TypeVar

from aiohttp import web

from sim.apiserver.control_plane import ControlPlane
from sim.apiserver.counters import RequestCounters
from sim.apiserver.faults import Faults
from sim.apiserver.http_app import APIHandler
from sim.apiserver.kubeconfig import kubeconfig_document, write_kubeconfig
from sim.apiserver.tls import ServingCertificates, issue_certificates

_REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_CRD_DIRS: tuple[Path, ...] = (_REPO_ROOT / "deploy" / "crds", _REPO_ROOT / "sim" / "crds")

T = TypeVar("T")


class APIServer:
    """A Kubernetes API server for kubectl and the Python client, on 127.0.0.1 by default."""

    def __init__(
        self,
        port: int = 0,
        host: str = "127.0.0.1",
        crd_dirs: Sequence[Path] | None = None,
        faults: Faults | None = None,
        *,
        token: str | None = None,
        history_per_resource: int = 20_000,
    ) -> None:
        self.host = host
        self.crd_dirs = tuple(Path(d) for d in (DEFAULT_CRD_DIRS if crd_dirs is None else crd_dirs))
        self.faults = faults or Faults()
        self.requests = RequestCounters()
        self.token = token or secrets.token_urlsafe(32)
        self._requested_port = port
        self._port = 0
        self._history = history_per_resource
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._runner: web.AppRunner | None = None
        self._plane: ControlPlane | None = None
        self._handler: APIHandler | None = None
        self._scratch: tempfile.TemporaryDirectory[str] | None = None
        self._certificates: ServingCertificates | None = None
        self._stopped = threading.Event()

    # lifecycle

    def start(self) -> APIServer:
        if self._thread is not None:
            raise RuntimeError("the API server is already running")
        self._scratch = tempfile.TemporaryDirectory(prefix="kcanary-apiserver-")
        self._certificates = issue_certificates(self.host)
        (Path(self._scratch.name) / "ca.crt").write_bytes(self._certificates.ca_pem)
        started: Future[None] = Future()
        self._stopped.clear()
        self._thread = threading.Thread(
            target=self._run, args=(started,), name="kcanary-apiserver", daemon=True
        )
        self._thread.start()
        try:
            started.result(timeout=60)
        except BaseException:
            self._thread.join(timeout=10)
            self._thread = None
            self._cleanup_files()
            raise
        return self

    def _run(self, started: Future[None]) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(self._serve())
        except BaseException as error:  # surfaced to start()'s caller
            if not started.done():
                started.set_exception(error)
        else:
            if not started.done():
                started.set_result(None)
            loop.run_forever()
        finally:
            try:
                loop.run_until_complete(self._shutdown())
            finally:
                loop.close()
                self._loop = None
                self._stopped.set()

    async def _serve(self) -> None:
        assert self._certificates is not None and self._scratch is not None
        faults = self.faults
        plane = ControlPlane(history_per_resource=self._history, gc_delay=lambda: faults.gc_delay)
        self._plane = plane
        plane.bootstrap(self.crd_dirs)
        self.faults.attach(lambda: self.call(plane.store.compact))
        context = self._certificates.server_context(Path(self._scratch.name))
        handler = APIHandler(
            plane,
            token=self.token,
            faults=self.faults,
            counters=self.requests,
            server_address=f"{self.host}:{self._requested_port}",
        )
        self._handler = handler
        runner = web.AppRunner(handler.application(), access_log=None, shutdown_timeout=1.0)
        await runner.setup()
        self._runner = runner
        site = web.TCPSite(runner, self.host, self._requested_port, ssl_context=context)
        await site.start()
        self._port = int(runner.addresses[0][1])
        handler.server_address = f"{self.host}:{self._port}"

    async def _shutdown(self) -> None:
        if self._plane is not None:
            self._plane.stop()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    def stop(self) -> None:
        """Stop serving, end open watches and free the port; safe to call twice."""
        loop, thread = self._loop, self._thread
        if thread is None:
            return
        if loop is not None and loop.is_running():
            loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=30)
        self._thread = None
        self._plane = None
        self._handler = None
        self._cleanup_files()

    def _cleanup_files(self) -> None:
        if self._scratch is not None:
            self._scratch.cleanup()
            self._scratch = None

    def __enter__(self) -> APIServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    # where and how to reach it

    @property
    def port(self) -> int:
        return self._port

    @property
    def url(self) -> str:
        return f"https://{self.host}:{self._port}"

    @property
    def ca_data(self) -> bytes:
        if self._certificates is None:
            raise RuntimeError("the API server has not been started")
        return self._certificates.ca_pem

    @property
    def ca_path(self) -> Path:
        if self._scratch is None:
            raise RuntimeError("the API server has not been started")
        return Path(self._scratch.name) / "ca.crt"

    def write_kubeconfig(
        self, path: Path, *, context: str = "kcanary-local", token: str | None = None
    ) -> Path:
        """A kubeconfig for the admin (the default) or for whoever `token` belongs to, such as
        a ServiceAccount (`service_account_token`)."""
        document = kubeconfig_document(
            server=self.url, ca_pem=self.ca_data, token=token or self.token, context=context
        )
        return write_kubeconfig(path, document)

    def service_account_token(self, namespace: str, name: str) -> str:
        """A bearer token that authenticates as `system:serviceaccount:NAMESPACE:NAME`, in
        the groups `system:serviceaccounts`, `system:serviceaccounts:NAMESPACE` and
        `system:authenticated`. It works while that ServiceAccount exists, and may do what the
        RBAC objects in the store allow it, nothing more."""
        handler = self._handler
        if handler is None:
            raise RuntimeError("the API server is not running")
        return self.call(lambda: handler.tokens.issue(namespace, name))

    # reaching into the running server (tests, benchmarks)

    @property
    def control_plane(self) -> ControlPlane:
        if self._plane is None:
            raise RuntimeError("the API server is not running")
        return self._plane

    def call(self, function: Callable[[], T]) -> T:
        """Run `function` on the server's event loop (where the store lives) and return its
        result; from the loop itself it runs directly."""
        loop = self._loop
        if loop is None:
            raise RuntimeError("the API server is not running")
        try:
            if asyncio.get_running_loop() is loop:
                return function()
        except RuntimeError:
            pass
        result: Future[T] = Future()

        def run() -> None:
            try:
                result.set_result(function())
            except BaseException as error:
                result.set_exception(error)

        loop.call_soon_threadsafe(run)
        return result.result(timeout=30)

    def close_watches(self) -> int:
        """End every open watch stream now (clients see the stream end and resume); returns
        how many were open. `faults.watch_close_after` instead limits streams opened later."""

        def close() -> int:
            hub = self.control_plane.hub
            count = hub.open_watches
            hub.close_all()
            return count

        return self.call(close)

    def compact_history(self) -> int:
        """Compact the watch history now (resumes from older resourceVersions get 410)."""
        return self.call(self.control_plane.store.compact)
