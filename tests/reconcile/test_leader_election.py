"""Two candidates on one Lease: one leads; the other takes over only once the lease expires."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

import pytest

from reconcile.errors import APIConflict, APINotFound, APIUnavailable
from reconcile.leader import LeaderElector, LeaseConfig


class LeaseServer:
    """One Lease with resourceVersion preconditions, as the API server keeps it."""

    def __init__(self) -> None:
        self.lease: dict[str, Any] | None = None
        self.rv = 0
        self.down = False
        self.writes = 0

    def _check(self) -> None:
        if self.down:
            raise APIUnavailable("connection refused")

    def read(self, namespace: str, name: str) -> dict[str, Any]:
        self._check()
        if self.lease is None:
            raise APINotFound("not found")
        return copy.deepcopy(self.lease)

    def create(self, namespace: str, lease: dict[str, Any]) -> dict[str, Any]:
        self._check()
        if self.lease is not None:
            raise APIConflict("already exists")
        self.rv += 1
        self.lease = copy.deepcopy(lease)
        self.lease["metadata"]["resourceVersion"] = str(self.rv)
        self.writes += 1
        return copy.deepcopy(self.lease)

    def replace(self, namespace: str, name: str, lease: dict[str, Any]) -> dict[str, Any]:
        self._check()
        assert self.lease is not None
        if lease["metadata"]["resourceVersion"] != self.lease["metadata"]["resourceVersion"]:
            raise APIConflict("the object has been modified")
        self.rv += 1
        self.lease = copy.deepcopy(lease)
        self.lease["metadata"]["resourceVersion"] = str(self.rv)
        self.writes += 1
        return copy.deepcopy(self.lease)


class Clock:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


def candidate(server: LeaseServer, clock: Clock, identity: str) -> LeaderElector:
    config = LeaseConfig("kcanary-system", "kcanary-controller", identity, 15, 10, 2)
    return LeaderElector(
        config,
        server,
        on_started_leading=lambda: None,
        on_stopped_leading=lambda: None,
        monotonic=clock,
        wall_clock=lambda: datetime(2026, 1, 1, tzinfo=UTC),
    )


def test_the_first_candidate_takes_a_missing_lease_and_the_second_waits() -> None:
    server, clock = LeaseServer(), Clock()
    a, b = candidate(server, clock, "a"), candidate(server, clock, "b")
    assert a.try_acquire_or_renew()
    assert not b.try_acquire_or_renew()
    assert server.lease is not None
    assert server.lease["spec"]["holderIdentity"] == "a"


def test_a_dead_leader_is_replaced_after_the_lease_duration_not_before() -> None:
    server, clock = LeaseServer(), Clock()
    a, b = candidate(server, clock, "a"), candidate(server, clock, "b")
    assert a.try_acquire_or_renew()
    assert not b.try_acquire_or_renew()  # b starts timing from what it saw now
    clock.t += 14.9
    assert not b.try_acquire_or_renew()
    clock.t += 0.2
    assert b.try_acquire_or_renew()
    assert server.lease is not None
    assert server.lease["spec"]["holderIdentity"] == "b"
    assert server.lease["spec"]["leaseTransitions"] == 1


def test_a_renewing_leader_keeps_the_lease() -> None:
    server, clock = LeaseServer(), Clock()
    a, b = candidate(server, clock, "a"), candidate(server, clock, "b")
    for _ in range(20):
        assert a.try_acquire_or_renew()
        assert not b.try_acquire_or_renew()
        clock.t += 2


def test_a_released_lease_is_taken_at_once() -> None:
    server, clock = LeaseServer(), Clock()
    a, b = candidate(server, clock, "a"), candidate(server, clock, "b")
    assert a.try_acquire_or_renew()
    a._leading.set()
    a.stop(release=True)
    assert b.try_acquire_or_renew()


def test_an_unreachable_server_is_not_leadership() -> None:
    server, clock = LeaseServer(), Clock()
    a = candidate(server, clock, "a")
    server.down = True
    assert not a.try_acquire_or_renew()


def test_timings_that_cannot_work_are_refused_with_the_rule() -> None:
    with pytest.raises(ValueError, match="lease-duration > renew-deadline > retry-period"):
        LeaseConfig("ns", "l", "me", lease_duration_s=5, renew_deadline_s=10, retry_period_s=2)
