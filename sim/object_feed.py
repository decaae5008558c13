"""List+watch of one kind through the API server, as a controller in the local cluster sees it.

The KServe stand-in, the Deployment controller and the gateway wiring are controllers of their
own: they learn about objects only through the API (the `kubernetes` client's `ApiClient`), never
from the server's store, so they see what a real controller would, including watch reconnects and
410 re-lists. A feed keeps a cache of the kind across all namespaces and calls `on_change` after
every change it applied (from the feed's thread).
"""

from __future__ import annotations

import contextlib
import json
import logging
import threading
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from sim.kube_calls import APICallError, Key, Kind, KubeCalls, Obj, key_of

log = logging.getLogger(__name__)


class ObjectFeed:
    """A cache of one kind kept current by list+watch on a thread of its own."""

    def __init__(
        self,
        calls: KubeCalls,
        kind: Kind,
        on_change: Callable[[str, Obj], None] | None = None,
    ) -> None:
        self._calls = calls
        self.kind = kind
        self._on_change = on_change
        self._cache: dict[Key, Obj] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._synced = threading.Event()
        self._thread: threading.Thread | None = None
        self._response: Any = None

    def start(self) -> None:
        self._thread = threading.Thread(
            target=self._run, name=f"feed-{self.kind.plural}", daemon=True
        )
        self._thread.start()

    def wait_synced(self, timeout_s: float = 10.0) -> bool:
        return self._synced.wait(timeout_s)

    def stop(self) -> None:
        self._stop.set()
        response = self._response
        if response is not None:
            with contextlib.suppress(Exception):  # already closed is fine
                response.response.shutdown()  # unblocks the read of the watch stream
        if self._thread is not None:
            self._thread.join(10)

    def items(self) -> list[Obj]:
        with self._lock:
            return list(self._cache.values())

    def get(self, namespace: str, name: str) -> Obj | None:
        with self._lock:
            return self._cache.get((namespace, name))

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                version = self._relist()
                self._synced.set()
                self._watch(version)
            except Exception as error:
                if self._stop.is_set():
                    return
                log.debug("feed %s: %s; listing again", self.kind.plural, error)
                self._stop.wait(0.2)

    def _relist(self) -> str:
        listed = self._calls.list(self.kind)
        fresh = {key_of(item): item for item in listed.get("items") or []}
        with self._lock:
            gone = [obj for key, obj in self._cache.items() if key not in fresh]
            self._cache = dict(fresh)
        for obj in gone:
            self._notify("DELETED", obj)
        for obj in fresh.values():
            self._notify("ADDED", obj)
        return str((listed.get("metadata") or {}).get("resourceVersion") or "")

    def _watch(self, version: str) -> None:
        while not self._stop.is_set():
            query = {"watch": "true", "allowWatchBookmarks": "true", "timeoutSeconds": "300"}
            if version:
                query["resourceVersion"] = version
            response = self._calls.request(
                "GET", self.kind.collection() + "?" + urlencode(query), timeout=(10, None)
            )
            self._response = response
            try:
                if self._stop.is_set():  # stop() ran before it could see this response
                    return
                if int(response.status) != 200:
                    raise APICallError(int(response.status), "watch refused")
                for line in _lines(response):
                    event = json.loads(line)
                    kind, obj = event.get("type"), event.get("object") or {}
                    if kind == "ERROR":
                        raise APICallError(int(obj.get("code") or 500), str(obj.get("message")))
                    version = str((obj.get("metadata") or {}).get("resourceVersion") or version)
                    if kind == "BOOKMARK":
                        continue
                    self._apply(str(kind), obj)
                    if self._stop.is_set():
                        return
            finally:
                self._response = None
                response.response.release_conn()

    def _apply(self, kind: str, obj: Obj) -> None:
        with self._lock:
            if kind == "DELETED":
                self._cache.pop(key_of(obj), None)
            else:
                self._cache[key_of(obj)] = obj
        self._notify(kind, obj)

    def _notify(self, kind: str, obj: Obj) -> None:
        if self._on_change is not None:
            try:
                self._on_change(kind, obj)
            except Exception:
                log.exception("feed %s: handler failed", self.kind.plural)


def _lines(response: Any) -> Any:
    buffer = b""
    for chunk in response.response.stream(4096, decode_content=False):
        buffer += chunk
        while b"\n" in buffer:
            line, buffer = buffer.split(b"\n", 1)
            if line.strip():
                yield line
