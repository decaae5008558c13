"""The HTTP side of a watch: a chunked 200 response carrying one JSON event per line.

Headers go out at once (clients wait for them before reading events). A resourceVersion that
history no longer reaches gets an ERROR event with a 410 Expired Status on the 200 stream, as
from the real watch cache. `sendInitialEvents=true` (watch-list) is answered with the synthetic
ADDED events and then a BOOKMARK annotated `k8s.io/initial-events-end`.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from dataclasses import dataclass

from aiohttp import web

from sim.apiserver import errors
from sim.apiserver.calls import APICall, resolve
from sim.apiserver.errors import Cause
from sim.apiserver.listing import selection_predicate
from sim.apiserver.registry import TypeRegistry
from sim.apiserver.request_info import is_true, negotiate
from sim.apiserver.store import ObjectStore, ResourceVersionExpired, StoredObject
from sim.apiserver.watch import Watcher, WatchFilter, WatchHub, error_frame


@dataclass(frozen=True)
class WatchSettings:
    """Server-wide watch behaviour; `close_after` is the fault switch that ends streams early."""

    bookmark_interval: float = 10.0
    close_after: float | None = None
    # After a watcher wakes, wait this long so events that follow are written with it: one
    # TLS write per batch instead of per event is what lets 100 watchers keep up with
    # hundreds of writes per second. It bounds the added delivery delay.
    coalesce: float = 0.01


def _watch_name(field_selector: str) -> str | None:
    """`metadata.name=NAME` alone, the common single-object watch, as a fast filter."""
    if field_selector.startswith("metadata.name=") and "," not in field_selector:
        name = field_selector.removeprefix("metadata.name=")
        return name or None
    return None


def _validate_watch_list(call: APICall) -> bool:
    """Whether the client asked for watch-list; 422 for an inconsistent combination."""
    send_initial = call.query.get("sendInitialEvents")
    if send_initial is None:
        return False
    causes: list[Cause] = []
    if call.query.get("resourceVersionMatch") != "NotOlderThan":
        causes.append(
            Cause(
                "FieldValueForbidden",
                "Forbidden: sendInitialEvents requires setting resourceVersionMatch to "
                "NotOlderThan",
                "resourceVersionMatch",
            )
        )
    if is_true(send_initial) and not is_true(call.query.get("allowWatchBookmarks")):
        causes.append(
            Cause(
                "FieldValueForbidden",
                "Forbidden: sendInitialEvents requires setting allowWatchBookmarks to true",
                "allowWatchBookmarks",
            )
        )
    if causes:
        raise errors.invalid_options(causes, kind="ListOptions")
    return is_true(send_initial)


async def serve_watch(
    request: web.Request,
    call: APICall,
    *,
    store: ObjectStore,
    registry: TypeRegistry,
    hub: WatchHub,
    settings: WatchSettings,
) -> web.StreamResponse:
    target = resolve(registry, call.request)
    representation = negotiate(call.accept)
    if representation is None:
        raise errors.not_acceptable(["application/json", "application/yaml"])
    watch_list = _validate_watch_list(call)
    bookmarks = is_true(call.query.get("allowWatchBookmarks"))
    timeout = _timeout(call)
    if settings.close_after is not None:
        timeout = min(timeout, settings.close_after) if timeout else settings.close_after
    field_text = call.query.get("fieldSelector", "")
    name = _watch_name(field_text)
    predicate = selection_predicate(call.query, target.rtype)
    watcher = Watcher(
        target.rtype,
        target.resource,
        WatchFilter(call.request.namespace, name, predicate),
        representation,
        call.query.get("includeObject", "Metadata"),
    )
    rv_text = call.query.get("resourceVersion", "")
    failure: bytes | None = None
    initial_end: int | None = None
    # From here to hub.add no await: the backlog and the live events meet without a gap.
    if watch_list or rv_text in ("", "0"):
        for stored in store.objects(target.resource, call.request.namespace):
            watcher.push_initial(stored)
        if watch_list:
            initial_end = store.resource_version
    else:
        try:
            since = int(rv_text)
        except ValueError:
            raise errors.bad_request(
                f'invalid resource version "{rv_text}": strconv.ParseUint: parsing '
                f'"{rv_text}": invalid syntax'
            ) from None
        try:
            for event in store.events_after(target.resource, since):
                watcher.offer(event)
        except ResourceVersionExpired as expired:
            failure = error_frame(errors.expired(str(expired)))
    if failure is None:
        hub.add(watcher)
    response = web.StreamResponse(status=200, headers={"Content-Type": "application/json"})
    response.enable_chunked_encoding()
    try:
        await response.prepare(request)
        if failure is not None:
            await response.write(failure)
            return response
        await _pump(response, watcher, store, bookmarks, initial_end, timeout, settings)
    except (ConnectionResetError, ConnectionError):
        pass
    finally:
        hub.remove(watcher)
    with contextlib.suppress(ConnectionResetError, ConnectionError, RuntimeError):
        await response.write_eof()
    return response


async def _pump(
    response: web.StreamResponse,
    watcher: Watcher,
    store: ObjectStore,
    bookmarks: bool,
    initial_end: int | None,
    timeout: float,
    settings: WatchSettings,
) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout if timeout else None
    if initial_end is not None:
        # The initial events are the ADDED entries queued before registration; anything
        # committed after it comes after the bookmark.
        initial: list[bytes | tuple[str, StoredObject]] = []
        while watcher.pending:
            entry = watcher.pending[0]
            if isinstance(entry, bytes) or entry[1].rv > initial_end:
                break
            initial.append(watcher.pending.popleft())
        frames = [watcher.frame(*entry) for entry in initial if not isinstance(entry, bytes)]
        await response.write(
            b"".join(frames) + watcher.bookmark(initial_end, initial_events_end=True)
        )
    last_sent = time.monotonic()
    while not watcher.closed:
        wait_for: float | None = settings.bookmark_interval if bookmarks else None
        if deadline is not None:
            remaining = deadline - loop.time()
            if remaining <= 0:
                return
            wait_for = remaining if wait_for is None else min(wait_for, remaining)
        await watcher.wait(wait_for)
        if watcher.pending and not watcher.closed and settings.coalesce > 0:
            await asyncio.sleep(settings.coalesce)
        if watcher.pending:
            await response.write(watcher.take_frames())
            last_sent = time.monotonic()
        elif bookmarks and time.monotonic() - last_sent >= settings.bookmark_interval:
            await response.write(watcher.bookmark(store.resource_version))
            last_sent = time.monotonic()


def _timeout(call: APICall) -> float:
    text = call.query.get("timeoutSeconds", "")
    if not text:
        return 0.0
    try:
        return max(float(int(text)), 0.0)
    except ValueError:
        raise errors.bad_request(
            f'invalid value for timeoutSeconds: strconv.ParseInt: parsing "{text}": invalid syntax'
        ) from None
