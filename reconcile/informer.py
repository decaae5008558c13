"""List+watch of one resource kind into a local cache, with reconnects and re-lists.

The loop is the one client-go's reflector runs: list to get the current state and a
resourceVersion, then watch from that resourceVersion. A watch that ends normally (the server
closes streams every few minutes) is resumed from the last resourceVersion seen; one that fails
with 410 Gone (history compacted) is answered with a fresh list, and the cache is diffed against
it so that deletions missed while disconnected still reach the handler.

An informer of an optional kind (a route kind whose CRD a cluster may lack: Istio's, the Gateway
API's) takes a 404 on its list or watch to mean the kind is not served (and a 403, that RBAC does
not let us list or watch it, with a warning that says which grant is missing): it empties its cache,
says so once, and lists again only every `missing_kind_retry_s`, so a cluster without the CRD
sees neither a busy loop nor a warning a second. Meanwhile it is *settled* (there is nothing to
wait for) but not *serving*, and readers go to the API server, which answers 404 as before.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any, Protocol

from reconcile.errors import APIError, APIForbidden, APIGone, APINotFound

log = logging.getLogger(__name__)

ObjectKey = tuple[str, str]  # (namespace, name); namespace "" for cluster-scoped kinds


def object_key(obj: dict[str, Any]) -> ObjectKey:
    meta = obj.get("metadata") or {}
    return (str(meta.get("namespace") or ""), str(meta.get("name") or ""))


@dataclass(frozen=True)
class WatchEvent:
    type: str  # ADDED | MODIFIED | DELETED | BOOKMARK
    object: dict[str, Any]


class ListWatch(Protocol):
    """What the informer needs from the API: a list and a watch of one kind."""

    def list(self) -> tuple[list[dict[str, Any]], str]:
        """All objects and the list's resourceVersion. Raises APIError."""
        ...

    def watch(self, resource_version: str, timeout_s: int) -> Iterator[WatchEvent]:
        """Events after resource_version. Raises APIGone for 410, APIError for the rest."""
        ...


Handler = Callable[[str, dict[str, Any]], None]


class Informer:
    def __init__(
        self,
        source: ListWatch,
        handler: Handler,
        *,
        name: str,
        watch_timeout_s: int = 300,
        retry_delay_s: float = 1.0,
        missing_kind_retry_s: float | None = None,
    ) -> None:
        """`missing_kind_retry_s` makes the kind optional (see the module's docstring); None
        treats a 404 like any other error."""
        self._source = source
        self._handler = handler
        self._name = name
        self._watch_timeout_s = watch_timeout_s
        self._retry_delay_s = retry_delay_s
        self._cache: dict[ObjectKey, dict[str, Any]] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._missing_kind_retry_s = missing_kind_retry_s
        self._synced = threading.Event()
        self._kind_missing = threading.Event()
        self._settled = threading.Event()
        """Set once the informer has synced or found its kind missing; never cleared."""
        self._thread: threading.Thread | None = None
        self.lists = 0  # how many full lists were made (tests count re-lists)
        self.watches = 0

    # -- cache access --------------------------------------------------------------------
    def get(self, key: ObjectKey) -> dict[str, Any] | None:
        with self._lock:
            return self._cache.get(key)

    def items(self) -> list[dict[str, Any]]:
        with self._lock:
            return list(self._cache.values())

    def has_synced(self) -> bool:
        return self._synced.is_set()

    def wait_for_sync(self, timeout_s: float) -> bool:
        return self._synced.wait(timeout_s)

    def kind_missing(self) -> bool:
        """Whether the last list or watch found the kind not served (optional kinds only)."""
        return self._kind_missing.is_set()

    def serving(self) -> bool:
        """Whether the cache can answer reads: synced, and the kind is served."""
        return self._synced.is_set() and not self._kind_missing.is_set()

    def settled(self) -> bool:
        """Whether the informer has synced or found its kind missing (readiness)."""
        return self._settled.is_set()

    def wait_until_settled(self, timeout_s: float) -> bool:
        return self._settled.wait(timeout_s)

    # -- lifecycle -----------------------------------------------------------------------
    def start(self) -> None:
        self._thread = threading.Thread(
            target=self._run, name=f"informer-{self._name}", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def join(self, timeout_s: float) -> None:
        if self._thread is not None:
            self._thread.join(timeout_s)

    def _run(self) -> None:
        resource_version = ""
        while not self._stop.is_set():
            try:
                if not resource_version:
                    resource_version = self._relist()
                resource_version = self._watch(resource_version)
            except APIGone:
                log.info("%s: watch history expired; listing again", self._name)
                resource_version = ""
            except (APINotFound, APIForbidden) as exc:
                if self._missing_kind_retry_s is None:
                    log.warning("%s: %s; retrying in %.1fs", self._name, exc, self._retry_delay_s)
                    self._stop.wait(self._retry_delay_s)
                    continue
                self._lost_kind(exc)
                resource_version = ""
                self._stop.wait(self._missing_kind_retry_s)
            except APIError as exc:
                log.warning("%s: %s; retrying in %.1fs", self._name, exc, self._retry_delay_s)
                self._stop.wait(self._retry_delay_s)
            except Exception:  # a handler bug must not kill the informer
                log.exception("%s: unexpected error; listing again", self._name)
                resource_version = ""
                self._stop.wait(self._retry_delay_s)

    def _relist(self) -> str:
        items, resource_version = self._source.list()
        self.lists += 1
        if self._kind_missing.is_set():
            log.info("%s: the kind is served now; caching it", self._name)
            self._kind_missing.clear()
        fresh = {object_key(obj): obj for obj in items}
        with self._lock:
            previous = self._cache
            self._cache = dict(fresh)
        for key, obj in previous.items():
            if key not in fresh:
                self._handler("DELETED", obj)
        for key, obj in fresh.items():
            old = previous.get(key)
            if old is None:
                self._handler("ADDED", obj)
            elif _rv(old) != _rv(obj):
                self._handler("MODIFIED", obj)
        self._synced.set()
        self._settled.set()
        return resource_version

    def _lost_kind(self, error: APINotFound | APIForbidden) -> None:
        """The kind is not served (its CRD is not installed, or was removed), or we may not
        list or watch it: nothing to cache."""
        if not self._kind_missing.is_set():
            if isinstance(error, APIForbidden):
                # Only ISVCs routed through this kind need it; the others must not wait.
                log.warning(
                    "%s: may not list or watch this kind (%s); grant the controller's "
                    "ServiceAccount list and watch on it (deploy/rbac has the rule). Reading it "
                    "from the API server meanwhile and trying again every %.0fs",
                    self._name,
                    error,
                    self._missing_kind_retry_s,
                )
            else:
                log.info(
                    "%s: the kind is not served (%s); reading it from the API server and "
                    "listing again every %.0fs",
                    self._name,
                    error,
                    self._missing_kind_retry_s,
                )
        with self._lock:
            self._cache = {}
        self._synced.clear()
        self._kind_missing.set()
        self._settled.set()

    def _watch(self, resource_version: str) -> str:
        self.watches += 1
        for event in self._source.watch(resource_version, self._watch_timeout_s):
            if self._stop.is_set():
                break
            rv = _rv(event.object)
            if rv:
                resource_version = rv
            if event.type == "BOOKMARK":
                continue
            key = object_key(event.object)
            with self._lock:
                if event.type == "DELETED":
                    self._cache.pop(key, None)
                else:
                    self._cache[key] = event.object
            self._handler(event.type, event.object)
        return resource_version


def _rv(obj: dict[str, Any]) -> str:
    return str((obj.get("metadata") or {}).get("resourceVersion") or "")


def keys_of(objects: Iterable[dict[str, Any]]) -> list[ObjectKey]:
    return [object_key(o) for o in objects]
