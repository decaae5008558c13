"""Loopback ports for the servers the local cluster, the demo and the tests start in other
processes.

A port found free with `bind(0)` and handed to another process can be taken before that process
binds it, and the likeliest taker is an outgoing connection: the kernel picks those from the same
ephemeral range (`ip_local_port_range`), and a busy cluster opens thousands. So ports are drawn
at random below that range, where only listeners bind, and checked free right before they are
handed out.
"""

from __future__ import annotations

import random
import socket
from pathlib import Path

_EPHEMERAL_RANGE = Path("/proc/sys/net/ipv4/ip_local_port_range")
_DEFAULT_EPHEMERAL_LOW = 32768
_LOWEST = 20000  # above the well-known and most registered service ports
_TRIES = 64


def _ephemeral_low() -> int:
    try:
        return int(_EPHEMERAL_RANGE.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return _DEFAULT_EPHEMERAL_LOW


def _free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def listen_port(rng: random.Random | None = None) -> int:
    """A loopback port nothing listens on now, outside the range outgoing connections use."""
    draw = rng or random.SystemRandom()
    high = _ephemeral_low() - 1
    if high > _LOWEST:
        for _ in range(_TRIES):
            port = draw.randint(_LOWEST, high)
            if _free(port):
                return port
    # No room below the ephemeral range (or all taken): any free port the kernel offers.
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
