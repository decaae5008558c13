"""Kubernetes Events about InferenceServices, aggregated the way client-go's recorder does.

An Event that repeats (same object, type, reason and message) is not written again: the
existing one gets its `count` and `lastTimestamp` bumped, so `kubectl describe` shows
"x5 over 2m" rather than five lines, and a flapping condition cannot flood the API server.
Events are best effort: a failure to record one is logged, never raised into a reconcile.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from reconcile.errors import APIError, APINotFound
from reconcile.log_fields import rollout_logger

log = rollout_logger(__name__)

COMPONENT = "kcanary-controller"
_CACHE_SIZE = 4096


@dataclass(frozen=True)
class InvolvedObject:
    api_version: str
    kind: str
    namespace: str
    name: str
    uid: str

    def to_dict(self) -> dict[str, str]:
        return {
            "apiVersion": self.api_version,
            "kind": self.kind,
            "namespace": self.namespace,
            "name": self.name,
            "uid": self.uid,
        }


class EventSink(Protocol):
    def create(self, namespace: str, event: dict[str, Any]) -> dict[str, Any]: ...

    def patch(self, namespace: str, name: str, patch: dict[str, Any]) -> dict[str, Any]: ...


def _timestamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class EventRecorder:
    def __init__(
        self,
        sink: EventSink,
        *,
        host: str = "",
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._sink = sink
        self._host = host
        self._clock = clock
        self._lock = threading.Lock()
        # aggregation key -> (event name, count so far)
        self._seen: OrderedDict[tuple[str, ...], tuple[str, int]] = OrderedDict()
        self.written = 0  # creates + patches, so tests can count writes

    def normal(self, obj: InvolvedObject, reason: str, message: str) -> None:
        self.record(obj, "Normal", reason, message)

    def warning(self, obj: InvolvedObject, reason: str, message: str) -> None:
        self.record(obj, "Warning", reason, message)

    def record(self, obj: InvolvedObject, type_: str, reason: str, message: str) -> None:
        now = _timestamp(self._clock())
        key = (obj.namespace, obj.name, obj.uid, type_, reason, message)
        with self._lock:
            seen = self._seen.get(key)
        try:
            if seen is not None:
                name, count = seen
                try:
                    self._sink.patch(
                        obj.namespace, name, {"count": count + 1, "lastTimestamp": now}
                    )
                    self._remember(key, name, count + 1)
                    self.written += 1
                    return
                except APINotFound:
                    pass  # the Event expired (TTL); write a fresh one
            name = self._event_name(obj, key)
            self._sink.create(
                obj.namespace,
                {
                    "apiVersion": "v1",
                    "kind": "Event",
                    "metadata": {"name": name, "namespace": obj.namespace},
                    "involvedObject": obj.to_dict(),
                    "type": type_,
                    "reason": reason,
                    "message": message[:1024],
                    "source": {"component": COMPONENT, "host": self._host},
                    "reportingComponent": COMPONENT,
                    "reportingInstance": self._host,
                    "firstTimestamp": now,
                    "lastTimestamp": now,
                    "count": 1,
                },
            )
            self._remember(key, name, 1)
            self.written += 1
        except APIError as exc:
            log.warning("could not record event %s/%s %s: %s", obj.namespace, obj.name, reason, exc)

    def _remember(self, key: tuple[str, ...], name: str, count: int) -> None:
        with self._lock:
            self._seen[key] = (name, count)
            self._seen.move_to_end(key)
            while len(self._seen) > _CACHE_SIZE:
                self._seen.popitem(last=False)

    def _event_name(self, obj: InvolvedObject, key: tuple[str, ...]) -> str:
        # Unique per aggregation key and moment, so a restarted controller does not collide.
        digest = hashlib.sha256("\0".join((*key, self._clock().isoformat())).encode())
        return f"{obj.name}.{digest.hexdigest()[:16]}"
