"""Request counts per verb and resource, so tests can say "reconciling wrote nothing"."""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass

WRITE_VERBS = frozenset({"create", "update", "patch", "delete", "deletecollection"})


@dataclass(frozen=True, order=True)
class RequestKey:
    verb: str
    resource: str  # plural.group, e.g. "inferenceservices.serving.kserve.io" or "configmaps"
    subresource: str = ""
    namespace: str = ""


class RequestCounters:
    """Thread-safe counters, written by the server thread, read by tests."""

    def __init__(self) -> None:
        self._counts: Counter[RequestKey] = Counter()
        self._lock = threading.Lock()

    def record(self, key: RequestKey) -> None:
        with self._lock:
            self._counts[key] += 1

    def snapshot(self) -> dict[RequestKey, int]:
        with self._lock:
            return dict(self._counts)

    def reset(self) -> None:
        with self._lock:
            self._counts.clear()

    def count(
        self,
        verb: str | None = None,
        resource: str | None = None,
        *,
        subresource: str | None = None,
        namespace: str | None = None,
    ) -> int:
        """Requests matching every given filter (None matches anything)."""
        total = 0
        for key, value in self.snapshot().items():
            if verb is not None and key.verb != verb:
                continue
            if resource is not None and key.resource != resource:
                continue
            if subresource is not None and key.subresource != subresource:
                continue
            if namespace is not None and key.namespace != namespace:
                continue
            total += value
        return total

    def writes(self, resource: str | None = None, *, namespace: str | None = None) -> int:
        return sum(self.count(verb, resource, namespace=namespace) for verb in sorted(WRITE_VERBS))
