"""The routers read their route from the watch cache, never older than what they last wrote."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

from reconcile.resources import resource_version
from reconcile.route_cache import CachedRoutes
from traffic.istio import VIRTUAL_SERVICE, IstioRouter
from traffic.memory_store import InMemoryStore
from traffic.store import JsonObject, ObjectRef
from traffic.target import RouteTarget

NAMESPACE = "models"
TARGET = RouteTarget(
    namespace=NAMESPACE,
    isvc_name="m",
    isvc_uid="uid-m",
    hosts=("m.models.example.com",),
    gateways=("knative-serving/knative-ingress-gateway",),
)
ROUTE = ObjectRef(VIRTUAL_SERVICE, NAMESPACE, TARGET.owned_route_name)


class CountingStore(InMemoryStore):
    """The API server: counts the reads that reach it."""

    def __init__(self) -> None:
        super().__init__()
        self.reads = 0

    def get(self, ref: ObjectRef) -> JsonObject | None:
        self.reads += 1
        return super().get(ref)


class WatchCache:
    """A watch cache that holds what the store held when the test last called `catch_up`."""

    def __init__(self, store: InMemoryStore) -> None:
        self._store = store
        self._seen: dict[ObjectRef, JsonObject | None] = {}

    def catch_up(self, ref: ObjectRef = ROUTE) -> None:
        self._seen[ref] = copy.deepcopy(InMemoryStore.get(self._store, ref))

    def get(self, ref: ObjectRef) -> JsonObject | None:
        return copy.deepcopy(self._seen.get(ref))


def setup(weight: int = 0) -> tuple[CountingStore, WatchCache, CachedRoutes, IstioRouter]:
    store = CountingStore()
    cache = WatchCache(store)
    routes = CachedRoutes(store, cache)
    router = IstioRouter(routes, TARGET)
    router.ensure()
    if weight:
        router.set_weight(weight)
    cache.catch_up()
    store.reads = 0
    return store, cache, routes, router


def canary_weight(store: InMemoryStore) -> int:
    route = InMemoryStore.get(store, ROUTE)
    assert route is not None
    return int(route["spec"]["http"][0]["route"][1]["weight"])


def test_a_route_the_cache_holds_up_to_date_is_read_without_the_api_server() -> None:
    store, _, _, router = setup(weight=10)
    weight = router.get_weight()
    assert weight is not None and weight.canary == 10
    assert router.verify_weight(10) is None
    assert store.reads == 0


def test_after_our_write_an_older_cached_copy_is_not_used() -> None:
    store, cache, routes, router = setup()
    assert router.set_weight(25)
    # The watch has not delivered our write yet: the cache still says 0.
    weight = router.get_weight()
    assert weight is not None and weight.canary == 25
    assert store.reads == 1
    assert not router.set_weight(25)  # nothing to write: the weight is already there
    assert store.writes() == 2  # the create and the one patch

    cache.catch_up()
    store.reads = 0
    weight = router.get_weight()
    assert weight is not None and weight.canary == 25
    assert store.reads == 0
    assert routes.remembered(ROUTE) is None  # the cache caught up: nothing left to remember


def test_a_write_refused_as_stale_retries_from_the_api_server() -> None:
    store, _, _, router = setup(weight=10)
    # Someone else labels the route after the cache saw it: the cached copy is now stale.
    store.put(ROUTE, _labelled(InMemoryStore.get(store, ROUTE), "team", "a"))
    assert router.set_weight(25)
    assert canary_weight(store) == 25
    labels = (InMemoryStore.get(store, ROUTE) or {})["metadata"]["labels"]
    assert labels["team"] == "a"  # the other writer's change survived
    patches = [w for w in store.log if w.verb == "patch"]
    assert [w.accepted for w in patches[-2:]] == [False, True]


def test_a_route_we_deleted_is_not_read_back_from_the_cache() -> None:
    store, cache, routes, router = setup(weight=10)
    router.hand_back()
    assert InMemoryStore.get(store, ROUTE) is None
    assert router.get_weight() is None  # the cache still holds the route
    cache.catch_up()
    store.reads = 0
    assert router.get_weight() is None
    assert store.reads == 0
    assert routes.remembered(ROUTE) is None


def test_a_route_someone_else_changed_is_read_from_the_cache_as_it_comes() -> None:
    store, cache, routes, router = setup(weight=10)
    router.get_weight()  # the cache has caught up with our write
    assert routes.remembered(ROUTE) is None
    route = InMemoryStore.get(store, ROUTE)
    assert route is not None
    route["spec"]["http"][0]["route"][0]["weight"] = 50
    route["spec"]["http"][0]["route"][1]["weight"] = 50
    store.put(ROUTE, route)
    cache.catch_up()
    drift = router.verify_weight(10)
    assert drift is not None
    assert store.reads == 0


def _labelled(route: JsonObject | None, key: str, value: str) -> JsonObject:
    assert route is not None
    changed = copy.deepcopy(route)
    changed["metadata"].setdefault("labels", {})[key] = value
    return changed


def test_a_route_created_meanwhile_by_someone_else_is_found_on_the_api_server() -> None:
    store = CountingStore()
    cache = WatchCache(store)
    cache.catch_up()  # the cache has not seen the route yet
    other = IstioRouter(store, TARGET)
    other.ensure()
    other.set_weight(10)
    router = IstioRouter(CachedRoutes(store, cache), TARGET)
    assert router.set_weight(25)
    assert canary_weight(store) == 25


class WatchOvertakesTheResponse(CountingStore):
    """The API server whose watch delivers a patched version before the patch's response."""

    def __init__(self) -> None:
        super().__init__()
        self.deliver: list[JsonObject] = []  # versions the watch delivers during the next patch
        self.on_event: Callable[[JsonObject], None] = lambda obj: None

    def patch(self, ref: ObjectRef, patch: Any, **kwargs: Any) -> JsonObject:
        written = super().patch(ref, patch, **kwargs)
        for obj in (*self.deliver, written):
            self.on_event(obj)
        self.deliver = []
        return written


class EchoLog:
    """What the route informer's handler would do with each delivered version."""

    def __init__(self, routes: CachedRoutes) -> None:
        self.answers: list[bool] = []
        self.woken: list[str] = []
        self._routes = routes

    def on_event(self, obj: JsonObject) -> None:
        version = obj["metadata"]["resourceVersion"]
        self.answers.append(
            self._routes.is_echo(ROUTE, version, lambda: self.woken.append(version))
        )


def overtaken_router() -> tuple[WatchOvertakesTheResponse, CachedRoutes, IstioRouter, EchoLog]:
    store = WatchOvertakesTheResponse()
    routes = CachedRoutes(store, WatchCache(store))
    router = IstioRouter(routes, TARGET)
    router.ensure()
    echoes = EchoLog(routes)
    store.on_event = echoes.on_event
    return store, routes, router, echoes


def test_our_write_seen_by_the_watch_before_its_response_wakes_nobody() -> None:
    store, routes, router, echoes = overtaken_router()
    assert router.set_weight(25)
    assert echoes.answers == [True]  # not known during the write; decided when it returned
    assert echoes.woken == []
    assert canary_weight(store) == 25
    # A later delivery of the same version (a re-list) is still known as ours.
    ours = resource_version(InMemoryStore.get(store, ROUTE))
    assert routes.is_echo(ROUTE, ours, lambda: echoes.woken.append("late"))
    assert echoes.woken == []


def test_someone_elses_change_seen_during_our_write_wakes_after_it() -> None:
    store, routes, router, echoes = overtaken_router()
    theirs = _labelled(InMemoryStore.get(store, ROUTE), "team", "a")
    theirs["metadata"]["resourceVersion"] = "someone-elses"
    store.deliver = [theirs]
    assert router.set_weight(25)
    assert echoes.answers == [True, True]  # both undecided while the write was under way
    assert echoes.woken == ["someone-elses"]
    assert not routes.is_echo(ROUTE, "another-one", lambda: None)
