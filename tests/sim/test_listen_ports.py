"""Ports handed to other processes come from below the range outgoing connections use, and are
free when handed out."""

from __future__ import annotations

import random
import socket

import pytest

from sim import ports
from sim.ports import listen_port


def test_ports_are_free_and_below_the_ephemeral_range() -> None:
    low = ports._ephemeral_low()
    drawn = [listen_port(random.Random(seed)) for seed in range(20)]
    for port in drawn:
        assert 20000 <= port < low
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", port))  # free: binding it works


def test_a_port_someone_listens_on_is_not_handed_out() -> None:
    taken = listen_port(random.Random(7))
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", taken))
        listener.listen(1)
        # The same draw would give the taken port first: it is skipped.
        assert listen_port(random.Random(7)) != taken


def test_without_room_below_the_ephemeral_range_the_kernel_chooses(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(ports, "_ephemeral_low", lambda: 1025)
    port = listen_port(random.Random(1))
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", port))
