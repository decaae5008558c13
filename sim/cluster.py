"""`LocalCluster`: the parts of the local cluster, started and stopped together.

For now it holds the API server; the KServe stand-in, gateway and Prometheus join it as further
parts. Each part adds its `name: URL` line to `endpoints()`, which `kcanary local-cluster`
prints before `ready`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

from sim.apiserver.faults import Faults
from sim.apiserver.server import APIServer


@dataclass(frozen=True)
class LocalClusterConfig:
    """What to start; `api_port` 0 picks a free port."""

    kubeconfig: Path
    api_port: int = 0
    host: str = "127.0.0.1"
    crd_dirs: tuple[Path, ...] | None = None
    faults: Faults | None = field(default=None, compare=False)


class LocalCluster:
    """Starts the parts in order and stops them in reverse order."""

    def __init__(self, config: LocalClusterConfig) -> None:
        self.config = config
        self.api_server = APIServer(
            port=config.api_port,
            host=config.host,
            crd_dirs=config.crd_dirs,
            faults=config.faults,
        )

    def start(self) -> LocalCluster:
        self.api_server.start()
        try:
            self.api_server.write_kubeconfig(self.config.kubeconfig)
        except OSError:
            self.api_server.stop()
            raise
        return self

    def stop(self) -> None:
        self.api_server.stop()

    def endpoints(self) -> list[tuple[str, str]]:
        """(name, URL) of every part, in the order the command prints them."""
        return [("api-server", self.api_server.url)]

    def __enter__(self) -> LocalCluster:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()
