"""Leader election on a coordination.k8s.io/v1 Lease, as client-go's leaderelection does it.

Two controllers may run; one acts. A candidate takes the Lease when it is free or when the
holder has not renewed it within `leaseDurationSeconds`, measured on the candidate's own clock
from when it last saw the record change (never by comparing another machine's timestamps, so
clock skew between replicas cannot hand the lease to two of them). The holder renews every
`retry_period`; if it cannot renew within `renew_deadline` it stops acting at once.

Every write is an update conditioned on the resourceVersion read, so two candidates racing for
an expired lease cannot both win: the loser gets 409 and tries again later.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from reconcile.errors import APIConflict, APIError, APINotFound

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LeaseConfig:
    namespace: str
    name: str
    identity: str
    lease_duration_s: float = 15.0
    renew_deadline_s: float = 10.0
    retry_period_s: float = 2.0

    def __post_init__(self) -> None:
        if not self.lease_duration_s > self.renew_deadline_s > self.retry_period_s > 0:
            raise ValueError(
                "leader election needs lease-duration > renew-deadline > retry-period > 0; got "
                f"{self.lease_duration_s}s, {self.renew_deadline_s}s, {self.retry_period_s}s"
            )


class LeaseStore(Protocol):
    """Reads and writes one Lease as a plain dict; raises reconcile.errors on failure."""

    def read(self, namespace: str, name: str) -> dict[str, Any]: ...

    def create(self, namespace: str, lease: dict[str, Any]) -> dict[str, Any]: ...

    def replace(self, namespace: str, name: str, lease: dict[str, Any]) -> dict[str, Any]: ...


def _micro_time(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class LeaderElector:
    def __init__(
        self,
        config: LeaseConfig,
        store: LeaseStore,
        *,
        on_started_leading: Callable[[], None],
        on_stopped_leading: Callable[[], None],
        monotonic: Callable[[], float] = time.monotonic,
        wall_clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._config = config
        self._store = store
        self._on_started = on_started_leading
        self._on_stopped = on_stopped_leading
        self._monotonic = monotonic
        self._wall = wall_clock
        self._observed: dict[str, Any] | None = None  # the last lease record seen
        self._observed_at = 0.0  # when (monotonic) that spec was first seen
        self._leading = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.renewals = 0

    @property
    def is_leader(self) -> bool:
        return self._leading.is_set()

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="leader-election", daemon=True)
        self._thread.start()

    def stop(self, *, release: bool = True) -> None:
        """Stop campaigning; a leader releases the lease so a successor need not wait."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(self._config.retry_period_s * 2 + 1)
        if release and self._leading.is_set():
            self._release()
        self._set_leading(False)

    def _run(self) -> None:
        last_renewal = self._monotonic()
        while not self._stop.is_set():
            acquired = self.try_acquire_or_renew()
            now = self._monotonic()
            if acquired:
                last_renewal = now
                self._set_leading(True)
            elif self._leading.is_set() and now - last_renewal > self._config.renew_deadline_s:
                log.error(
                    "could not renew lease %s within %.0fs; stepping down",
                    self._config.name,
                    self._config.renew_deadline_s,
                )
                self._set_leading(False)
            self._stop.wait(self._config.retry_period_s)

    def _set_leading(self, leading: bool) -> None:
        if leading and not self._leading.is_set():
            self._leading.set()
            log.info("became leader (%s)", self._config.identity)
            self._on_started()
        elif not leading and self._leading.is_set():
            self._leading.clear()
            log.info("stopped leading (%s)", self._config.identity)
            self._on_stopped()

    def try_acquire_or_renew(self) -> bool:
        """One attempt; True when this candidate holds the lease afterwards."""
        cfg = self._config
        now_wall = _micro_time(self._wall())
        try:
            current = self._store.read(cfg.namespace, cfg.name)
        except APINotFound:
            lease = {
                "apiVersion": "coordination.k8s.io/v1",
                "kind": "Lease",
                "metadata": {"name": cfg.name, "namespace": cfg.namespace},
                "spec": {
                    "holderIdentity": cfg.identity,
                    "leaseDurationSeconds": int(cfg.lease_duration_s),
                    "acquireTime": now_wall,
                    "renewTime": now_wall,
                    "leaseTransitions": 0,
                },
            }
            try:
                self._store.create(cfg.namespace, lease)
            except APIError as exc:
                log.debug("could not create lease: %s", exc)
                return False
            self.renewals += 1
            return True
        except APIError as exc:
            log.debug("could not read lease: %s", exc)
            return False

        spec = dict(current.get("spec") or {})
        # Any write by the holder (a renewal) changes the resourceVersion: restart the timer.
        record = {"rv": (current.get("metadata") or {}).get("resourceVersion"), **spec}
        if record != self._observed:
            self._observed = record
            self._observed_at = self._monotonic()
        holder = spec.get("holderIdentity") or ""
        duration = float(spec.get("leaseDurationSeconds") or cfg.lease_duration_s)
        expired = self._monotonic() > self._observed_at + duration
        if holder and holder != cfg.identity and not expired:
            return False

        new_spec = dict(spec)
        new_spec["holderIdentity"] = cfg.identity
        new_spec["leaseDurationSeconds"] = int(cfg.lease_duration_s)
        new_spec["renewTime"] = now_wall
        if holder != cfg.identity:
            new_spec["acquireTime"] = now_wall
            new_spec["leaseTransitions"] = int(spec.get("leaseTransitions") or 0) + 1
        body = {
            "apiVersion": "coordination.k8s.io/v1",
            "kind": "Lease",
            "metadata": current["metadata"],  # carries the resourceVersion: a conditional write
            "spec": new_spec,
        }
        try:
            stored = self._store.replace(cfg.namespace, cfg.name, body)
        except APIConflict:
            return False
        except APIError as exc:
            log.debug("could not renew lease: %s", exc)
            return False
        self._observed = {"rv": (stored.get("metadata") or {}).get("resourceVersion"), **new_spec}
        self._observed_at = self._monotonic()
        self.renewals += 1
        return True

    def _release(self) -> None:
        cfg = self._config
        try:
            current = self._store.read(cfg.namespace, cfg.name)
            spec = dict(current.get("spec") or {})
            if spec.get("holderIdentity") != cfg.identity:
                return
            spec["holderIdentity"] = ""
            spec["leaseDurationSeconds"] = 1
            body = {
                "apiVersion": "coordination.k8s.io/v1",
                "kind": "Lease",
                "metadata": current["metadata"],
                "spec": spec,
            }
            self._store.replace(cfg.namespace, cfg.name, body)
        except APIError as exc:
            log.warning("could not release lease %s: %s", cfg.name, exc)
