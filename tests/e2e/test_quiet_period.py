"""Reconciling objects that need nothing writes nothing: over a quiet minute with 20 idle
managed ISVCs, the controller's only writes to the API server are its Lease renewals.

A minute covers sixty analysis intervals (1 s) and twelve of the controller's poll periods (5 s)
for every ISVC, which is what could cause a write. It runs after the concurrent batch has ended
so that no other rollout writes in the window; the writes are counted by the API server itself.
"""

from __future__ import annotations

import threading
import time
from collections import Counter

from e2e_batch import Batch
from e2e_controllers import ControllerProcess
from e2e_rollouts import NamespacePool, Rollouts, annotated_isvc

from sim.apiserver.counters import WRITE_VERBS
from sim.cluster import LocalCluster

IDLE_ISVCS = 20
QUIET_S = 60.0
SETTLE_S = 6.0  # longer than the controller's 5 s poll period


def test_idle_managed_isvcs_cause_no_writes_but_lease_renewals(
    batch: Batch,
    controller: ControllerProcess,
    local_cluster: LocalCluster,
    rollouts: Rollouts,
    namespaces: NamespacePool,
) -> None:
    batch.wait_all()
    namespace = namespaces.take()
    names = [f"idle-{index}" for index in range(IDLE_ISVCS)]
    for name in names:
        rollouts.create(annotated_isvc(name, namespace, router="istio"))
    for name in names:
        rollouts.wait_phase(namespace, name, "Stable", timeout_s=120)
    counters = local_cluster.api_server.requests
    # Stable is written before KServe's last status updates land; the window starts once
    # nobody (KServe's stand-in included) has written in the namespace for a poll period.
    settle_deadline = time.monotonic() + 60
    quiet_since, seen = time.monotonic(), counters.writes(namespace=namespace)
    while time.monotonic() - quiet_since < SETTLE_S:
        assert time.monotonic() < settle_deadline, "the namespace never settled"
        threading.Event().wait(0.2)
        now = counters.writes(namespace=namespace)
        if now != seen:
            quiet_since, seen = time.monotonic(), now
    before = counters.snapshot()
    threading.Event().wait(QUIET_S)  # the quiet period being measured
    after = counters.snapshot()
    writes = Counter(
        {
            (key.verb, key.resource, key.subresource, key.namespace): after[key]
            - before.get(key, 0)
            for key in after
            if key.verb in WRITE_VERBS and after[key] > before.get(key, 0)
        }
    )
    lease_writes = sum(n for key, n in writes.items() if key[1].startswith("leases"))
    other = {key: n for key, n in writes.items() if not key[1].startswith("leases")}
    assert not other, f"writes while idle: {other}"
    assert lease_writes > 0, "the controller holds its Lease, so it must have renewed it"
