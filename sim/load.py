"""Open-loop load: Poisson arrivals per target, sent through the gateway as an outside client.

Each target is one ISVC's public host with its protocol; requests carry realistic iris rows. The
generator never waits for an answer before sending the next request (open loop), so a slow canary
does not slow the offered load, as with real clients. Rates can change while it runs. It counts
what it sent and every status it got per target (0 for a connection that failed), so tests can
compare Prometheus's numbers with the truth.
"""

from __future__ import annotations

import asyncio
import json
import random
import threading
import time
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field

import aiohttp

from sim.background_loop import BackgroundLoop
from sim.modelserver.iris import SAMPLE_INSTANCES
from sim.modelserver.naming import Protocol


@dataclass(frozen=True)
class Target:
    """Where requests go: a public host and the model it serves, in one protocol."""

    host: str
    model_name: str
    protocol: Protocol = Protocol.V1

    @property
    def path(self) -> str:
        if self.protocol is Protocol.V2:
            return f"/v2/models/{self.model_name}/infer"
        return f"/v1/models/{self.model_name}:predict"

    def body(self, rng: random.Random) -> bytes:
        rows = [list(rng.choice(SAMPLE_INSTANCES)) for _ in range(rng.randint(1, 2))]
        if self.protocol is Protocol.V2:
            tensor = {"name": "input-0", "shape": [len(rows), 4], "datatype": "FP32", "data": rows}
            return json.dumps({"inputs": [tensor]}).encode()
        return json.dumps({"instances": rows}).encode()


@dataclass(frozen=True)
class TargetCounts:
    """What was sent to one target and what came back (status 0: no HTTP answer)."""

    sent: int = 0
    statuses: Mapping[int, int] = field(default_factory=dict)

    @property
    def answered(self) -> int:
        return sum(self.statuses.values())

    @property
    def errors_5xx(self) -> int:
        return sum(n for code, n in self.statuses.items() if code >= 500)


class LoadGenerator:
    """Poisson request streams to targets through one gateway URL."""

    def __init__(
        self,
        gateway_url: str,
        *,
        loop: BackgroundLoop | None = None,
        seed: int | None = None,
        timeout_s: float = 30.0,
        max_connections: int = 200,
    ) -> None:
        self._url = gateway_url.rstrip("/")
        self._own_loop = loop is None
        self._loop = loop or BackgroundLoop("load")
        self._rng = random.Random(seed)
        self._timeout_s = timeout_s
        if max_connections < 1:
            raise ValueError(f"max_connections must be >= 1, got {max_connections}")
        self._max_connections = max_connections
        self._session: aiohttp.ClientSession | None = None
        self._streams: dict[Target, _Stream] = {}
        self._in_flight: set[asyncio.Task[None]] = set()
        self._sent: Counter[Target] = Counter()
        self._statuses: dict[Target, Counter[int]] = {}
        self._lock = threading.Lock()

    def start(self) -> None:
        self._loop.start()

        async def open_session() -> None:
            self._session = aiohttp.ClientSession(
                # Bounded, as load tools bound theirs: when the gateway falls behind, arrivals
                # queue here for a connection (and time out as status 0) instead of opening
                # thousands of sockets in a process that also hosts the cluster's servers.
                connector=aiohttp.TCPConnector(limit=self._max_connections),
                timeout=aiohttp.ClientTimeout(total=self._timeout_s),
            )

        self._loop.run(open_session())

    def set_rate(
        self,
        target: Target,
        rps: float,
        *,
        max_requests: int | None = None,
        duration_s: float | None = None,
    ) -> None:
        """Send to `target` at `rps` from now on (0 pauses it), up to a count or a duration."""
        if rps < 0:
            raise ValueError(f"request rate for {target.host} must be >= 0, got {rps}")
        self._loop.run(self._set_rate(target, rps, max_requests, duration_s))

    async def _set_rate(
        self, target: Target, rps: float, max_requests: int | None, duration_s: float | None
    ) -> None:
        stream = self._streams.get(target)
        with self._lock:
            self._sent[target] += 0  # listed in counts() from now on
        if stream is None or stream.task.done():
            stream = _Stream(rps, max_requests, duration_s)
            stream.task = asyncio.create_task(self._arrivals(target, stream))
            self._streams[target] = stream
        else:
            stream.retune(rps, max_requests, duration_s)

    def send(self, target: Target, count: int, rps: float, timeout_s: float = 60.0) -> TargetCounts:
        """Send exactly `count` requests at `rps` and wait for every answer; counts for them."""
        before = self.counts().get(target, TargetCounts())
        self.set_rate(target, rps, max_requests=count)
        deadline = time.monotonic() + timeout_s

        async def drained() -> None:
            stream = self._streams[target]
            await asyncio.wait_for(
                asyncio.shield(stream.task), max(0.0, deadline - time.monotonic())
            )
            pending = [t for t in self._in_flight if not t.done()]
            if pending:
                await asyncio.wait(pending, timeout=max(0.0, deadline - time.monotonic()))

        self._loop.run(drained(), timeout=timeout_s + 5)
        after = self.counts()[target]
        statuses = {
            code: n - before.statuses.get(code, 0)
            for code, n in after.statuses.items()
            if n - before.statuses.get(code, 0)
        }
        return TargetCounts(after.sent - before.sent, statuses)

    def idle(self, target: Target) -> bool:
        """Whether `target`'s stream has ended and every request it sent has been answered."""
        stream = self._streams.get(target)
        counts = self.counts().get(target, TargetCounts())
        return (stream is None or stream.task.done()) and counts.answered == counts.sent

    def counts(self) -> dict[Target, TargetCounts]:
        with self._lock:
            return {
                target: TargetCounts(sent, dict(self._statuses.get(target, Counter())))
                for target, sent in self._sent.items()
            }

    def stop(self, drain_s: float = 10.0) -> dict[Target, TargetCounts]:
        """Stop every stream, wait up to `drain_s` for answers in flight, and return the counts."""
        if self._loop.running:
            self._loop.run(self._stop(drain_s), timeout=drain_s + 10)
        if self._own_loop:
            self._loop.stop()
        return self.counts()

    async def _stop(self, drain_s: float) -> None:
        for stream in self._streams.values():
            # A flag as well as a cancel: asyncio.wait_for before 3.12 can swallow a cancel.
            stream.close()
            stream.task.cancel()
        await asyncio.gather(*(s.task for s in self._streams.values()), return_exceptions=True)
        if self._in_flight:
            await asyncio.wait(list(self._in_flight), timeout=drain_s)
        for task in list(self._in_flight):
            task.cancel()
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def _arrivals(self, target: Target, stream: _Stream) -> None:
        """Fire requests at Poisson times; rate changes take effect at once (memorylessness)."""
        next_at = time.monotonic()
        while not stream.finished():
            if stream.rps <= 0:
                await stream.changed()
                next_at = time.monotonic()
                continue
            next_at += self._rng.expovariate(stream.rps)
            delay = next_at - time.monotonic()
            generation = stream.generation
            if delay > 0:
                await stream.changed(timeout=delay)
            if stream.generation != generation:
                next_at = time.monotonic()  # retuned while waiting: redraw from the new rate
                continue
            if stream.finished():
                break
            stream.fired += 1
            with self._lock:
                self._sent[target] += 1
            task = asyncio.create_task(self._request(target))
            self._in_flight.add(task)
            task.add_done_callback(self._in_flight.discard)

    async def _request(self, target: Target) -> None:
        assert self._session is not None
        status = 0
        try:
            async with self._session.post(
                self._url + target.path,
                data=target.body(self._rng),
                headers={"Host": target.host, "Content-Type": "application/json"},
            ) as response:
                await response.read()
                status = response.status
        except (aiohttp.ClientError, TimeoutError, ConnectionError):
            status = 0
        with self._lock:
            self._statuses.setdefault(target, Counter())[status] += 1


class _Stream:
    """One target's arrival process: its rate and bounds, changeable while it runs."""

    def __init__(self, rps: float, max_requests: int | None, duration_s: float | None) -> None:
        self.task: asyncio.Task[None]
        self.fired = 0
        self.generation = 0  # bumped by every retune
        self.closed = False
        self._wake = asyncio.Event()
        self.retune(rps, max_requests, duration_s)

    def retune(self, rps: float, max_requests: int | None, duration_s: float | None) -> None:
        self.generation += 1
        self.rps = rps
        self.limit = None if max_requests is None else self.fired + max_requests
        self.ends_at = None if duration_s is None else time.monotonic() + duration_s
        self._wake.set()

    def close(self) -> None:
        self.closed = True
        self._wake.set()

    def finished(self) -> bool:
        if self.closed:
            return True
        if self.limit is not None and self.fired >= self.limit:
            return True
        return self.ends_at is not None and time.monotonic() >= self.ends_at

    async def changed(self, timeout: float | None = None) -> bool:
        """Wait for a retune (True) or the timeout (False).

        Callers check the stream's state right before, with no await in between, so clearing a
        stale wake-up here loses nothing.
        """
        self._wake.clear()
        if self.ends_at is not None:
            left = max(0.0, self.ends_at - time.monotonic())
            timeout = left if timeout is None else min(timeout, left)
        try:
            await asyncio.wait_for(self._wake.wait(), timeout)
        except TimeoutError:
            return False
        self._wake.clear()
        return True
