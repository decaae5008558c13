"""The load generator sends open-loop Poisson traffic and counts what came back."""

from __future__ import annotations

import asyncio
import time

import pytest
from aiohttp import web
from polling import wait_until

from sim.background_loop import BackgroundLoop
from sim.behaviour import parse_storage_uri
from sim.gateway import Gateway, PodDirectory, build_routing_table
from sim.load import LoadGenerator, Target
from sim.modelserver import ModelServerHost, ModelServerSpec, PodIdentity

HOST = "iris-models.example.com"


@pytest.fixture
def routed_gateway(host: ModelServerHost, directory: PodDirectory, gateway: Gateway) -> Gateway:
    server = host.launch(
        ModelServerSpec("iris", behaviour=parse_storage_uri("sim://iris/v1?p50_ms=0")),
        PodIdentity("models", "iris-predictor-a", "iris-predictor", "iris-predictor"),
    )
    directory.add("iris-predictor", "models", server)
    ingress = {
        "metadata": {"name": "iris", "namespace": "models"},
        "spec": {
            "ingressClassName": "istio",
            "rules": [
                {
                    "host": HOST,
                    "http": {
                        "paths": [
                            {
                                "path": "/",
                                "pathType": "Prefix",
                                "backend": {"service": {"name": "iris-predictor"}},
                            }
                        ]
                    },
                }
            ],
        },
    }
    gateway.set_routes(build_routing_table(ingresses=[ingress]).table)
    return gateway


def test_rate_change_while_running_changes_the_arrivals(
    routed_gateway: Gateway, loop: BackgroundLoop
) -> None:
    load = LoadGenerator(routed_gateway.url, loop=loop, seed=1)
    load.start()
    target = Target(HOST, "iris")
    try:
        load.set_rate(target, 400)
        wait_until(lambda: load.counts()[target].sent >= 200, 10)
        load.set_rate(target, 0)
        paused_at = load.counts()[target].sent
        # A paused stream sends nothing more; nothing to wait for but a short window.
        deadline = time.monotonic() + 0.3
        while time.monotonic() < deadline:
            assert load.counts()[target].sent == paused_at
            time.sleep(0.02)
        load.set_rate(target, 400)
        wait_until(lambda: load.counts()[target].sent >= paused_at + 100, 10)
    finally:
        counts = load.stop()
    assert counts[target].answered == counts[target].sent
    assert set(counts[target].statuses) == {200}


def test_send_is_bounded_by_count_and_reports_only_its_own_requests(
    routed_gateway: Gateway, loop: BackgroundLoop
) -> None:
    load = LoadGenerator(routed_gateway.url, loop=loop, seed=2)
    load.start()
    try:
        target = Target(HOST, "iris")
        first = load.send(target, 40, rps=1000)
        second = load.send(target, 25, rps=1000)
        assert (first.sent, first.statuses) == (40, {200: 40})
        assert (second.sent, second.statuses) == (25, {200: 25})
    finally:
        load.stop()


def test_duration_bound_stops_the_stream(routed_gateway: Gateway, loop: BackgroundLoop) -> None:
    load = LoadGenerator(routed_gateway.url, loop=loop, seed=3)
    load.start()
    target = Target(HOST, "iris")
    try:
        load.set_rate(target, 200, duration_s=0.3)
        wait_until(lambda: load.idle(target), 5)
        sent = load.counts()[target].sent
        # ~60 expected; a busy machine sends fewer (late arrivals are not made up after the end)
        assert 0 < sent < 150
        deadline = time.monotonic() + 0.2
        while time.monotonic() < deadline:  # the ended stream stays quiet
            assert load.counts()[target].sent == sent
            time.sleep(0.02)
    finally:
        load.stop()


def test_unreachable_gateway_is_counted_as_status_zero(loop: BackgroundLoop) -> None:
    load = LoadGenerator("http://127.0.0.1:9", loop=loop, seed=4)
    load.start()
    try:
        assert load.send(Target(HOST, "iris"), 5, rps=1000).statuses == {0: 5}
    finally:
        load.stop()


def test_negative_rate_is_refused_with_a_clear_message(loop: BackgroundLoop) -> None:
    load = LoadGenerator("http://127.0.0.1:9", loop=loop)
    load.start()
    try:
        with pytest.raises(ValueError, match="must be >= 0"):
            load.set_rate(Target(HOST, "iris"), -1)
    finally:
        load.stop()


def test_a_slow_gateway_never_gets_more_connections_than_the_bound(loop: BackgroundLoop) -> None:
    open_now = peak = 0

    async def slow(request: web.Request) -> web.Response:
        nonlocal open_now, peak
        open_now += 1
        peak = max(peak, open_now)
        await asyncio.sleep(0.05)
        open_now -= 1
        return web.json_response({})

    async def serve() -> tuple[web.AppRunner, int]:
        app = web.Application()
        app.router.add_post("/{tail:.*}", slow)
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        return runner, int(runner.addresses[0][1])

    runner, port = loop.run(serve())
    load = LoadGenerator(f"http://127.0.0.1:{port}", loop=loop, seed=6, max_connections=3)
    load.start()
    try:
        # 400 rps into a server that answers in 50 ms would want ~20 connections at once.
        counts = load.send(Target(HOST, "iris"), 60, rps=400)
        assert counts.statuses == {200: 60}
        assert peak == 3
    finally:
        load.stop()
        loop.run(runner.cleanup())


def test_a_connection_bound_below_one_is_refused() -> None:
    with pytest.raises(ValueError, match="max_connections must be >= 1, got 0"):
        LoadGenerator("http://127.0.0.1:9", max_connections=0)
