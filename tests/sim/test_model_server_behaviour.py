"""Model servers show the latency, errors and lifecycle their storageUri asks for."""

from __future__ import annotations

import math
import statistics
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Any

from polling import wait_until

from sim.behaviour import parse_storage_uri
from sim.modelserver import ModelServer, ModelServerHost, ModelServerSpec, PodIdentity

HttpCall = Callable[..., tuple[int, Any]]
POD = PodIdentity(
    namespace="models",
    pod_name="iris-predictor-1",
    workload="iris-predictor",
    service="iris-predictor",
)
ROW = {"instances": [[6.8, 2.8, 4.8, 1.4]]}


def spec(uri: str) -> ModelServerSpec:
    return ModelServerSpec("iris", behaviour=parse_storage_uri(uri))


def test_error_rate_is_honoured_within_binomial_bounds(
    host: ModelServerHost, http: HttpCall, samples: Callable[..., float]
) -> None:
    server = host.launch(spec("sim://iris/v1?p50_ms=0&error_rate=0.2"), POD, seed=3)
    n = 600
    codes = [http("POST", f"{server.url}/v1/models/iris:predict", ROW)[0] for _ in range(n)]
    failures = codes.count(500)
    assert codes.count(200) + failures == n
    bound = 4.5 * math.sqrt(n * 0.2 * 0.8)
    assert abs(failures - n * 0.2) < bound
    text = server.metrics_text()
    assert samples(text, "istio_requests_total", response_code="500") == failures
    assert samples(text, "request_predict_seconds_count") == n


def test_error_code_503_is_returned_with_kserves_error_body(
    host: ModelServerHost, http: HttpCall
) -> None:
    server = host.launch(spec("sim://iris/v1?p50_ms=0&error_rate=1&error_code=503"), POD)
    status, body = http("POST", f"{server.url}/v1/models/iris:predict", ROW)
    assert status == 503 and "error" in body


def test_server_is_not_ready_until_its_startup_delay_passed(
    host: ModelServerHost, http: HttpCall
) -> None:
    server = host.launch(spec("sim://iris/v1?p50_ms=0&startup_s=0.5"), POD)
    assert not server.ready
    assert http("GET", f"{server.url}/")[0] == 200  # alive while starting
    assert http("GET", f"{server.url}/v2/health/ready")[0] == 503
    assert http("POST", f"{server.url}/v1/models/iris:predict", ROW) == (
        503,
        {"error": "Model with name iris is not ready."},
    )
    wait_until(lambda: server.ready, 5)
    assert http("POST", f"{server.url}/v1/models/iris:predict", ROW)[0] == 200


def test_never_ready_server_stays_not_ready(host: ModelServerHost, http: HttpCall) -> None:
    server = host.launch(spec("sim://iris/v1?never_ready=1"), POD)
    assert not server.ready
    assert http("GET", f"{server.url}/v1/models/iris")[0] == 503


def _refused(url: str) -> bool:
    try:
        urllib.request.urlopen(url, timeout=2).close()
    except urllib.error.URLError as error:
        return isinstance(error.reason, ConnectionRefusedError)
    return False


def test_crashing_server_goes_down_and_returns_with_its_own_counters_reset(
    host: ModelServerHost,
    http: HttpCall,
    samples: Callable[..., float],
) -> None:
    # Down for 2 s: long enough for the poll below to see it on a busy machine.
    server = host.launch(spec("sim://iris/v1?p50_ms=0&crash_after_s=1.5&restart_s=2"), POD)
    port = server.port
    for _ in range(5):
        assert http("POST", f"{server.url}/v1/models/iris:predict", ROW)[0] == 200
    assert samples(server.metrics_text(), "request_predict_seconds_count") == 5
    wait_until(lambda: _refused(server.url + "/"), 10)
    assert not server.ready
    wait_until(lambda: server.restarts >= 1 and server.ready, 10)
    # Only the model-server container restarted: its histograms reset, the sidecar's did not.
    assert samples(server.metrics_text(), "request_predict_seconds_count") == 0
    assert samples(server.metrics_text(), "istio_requests_total", response_code="200") >= 5
    assert server.port == port  # same container port, as in the same pod


def test_restart_keeps_the_port_and_resets_the_model_servers_counters(
    host: ModelServerHost, http: HttpCall, samples: Callable[..., float]
) -> None:
    server = host.launch(spec("sim://iris/v1?p50_ms=0"), POD)
    http("POST", f"{server.url}/v1/models/iris:predict", ROW)
    port = server.port
    host.restart(server)
    assert server.port == port and server.restarts == 1
    assert samples(server.metrics_text(), "request_predict_seconds_count") == 0
    assert samples(server.metrics_text(), "istio_requests_total") == 1
    assert http("POST", f"{server.url}/v1/models/iris:predict", ROW)[0] == 200


def test_replaced_pod_starts_every_counter_from_zero(
    host: ModelServerHost, http: HttpCall, samples: Callable[..., float]
) -> None:
    old = host.launch(spec("sim://iris/v1?p50_ms=0"), POD)
    http("POST", f"{old.url}/v1/models/iris:predict", ROW)
    new = host.replace(old)
    assert new.port != old.port and _refused(old.url + "/")
    assert samples(new.metrics_text(), "istio_requests_total") == 0
    assert http("POST", f"{new.url}/v1/models/iris:predict", ROW)[0] == 200
    assert samples(new.metrics_text(), "request_predict_seconds_count") == 1


def test_deleted_server_frees_its_port(host: ModelServerHost) -> None:
    server = host.launch(spec("sim://iris/v1"), POD)
    host.delete(server)
    assert _refused(server.url + "/")
    assert server not in host.servers


def test_serverless_pod_exports_queue_proxy_series(
    host: ModelServerHost, http: HttpCall, samples: Callable[..., float]
) -> None:
    from sim.modelserver import KnativeRevision

    pod = PodIdentity(
        namespace="models",
        pod_name="iris-predictor-00002-deployment-5c7f",
        workload="iris-predictor-00002-deployment",
        service="iris-predictor-00002",
        knative=KnativeRevision("iris-predictor", "iris-predictor", "iris-predictor-00002"),
    )
    server = host.launch(spec("sim://iris/v2?p50_ms=0&error_rate=1"), pod)
    http("POST", f"{server.url}/v1/models/iris:predict", ROW)
    text = server.metrics_text()
    labels = {"revision_name": "iris-predictor-00002", "response_code_class": "5xx"}
    assert samples(text, "revision_app_request_count", **labels) == 1
    assert samples(text, "revision_app_request_latencies_bucket", le="+Inf", **labels) == 1
    assert (
        samples(
            text,
            "istio_requests_total",
            reporter="destination",
            destination_workload="iris-predictor-00002-deployment",
        )
        == 1
    )


WARM_S, FACTOR, WARMUP_S = 0.04, 5, 1.0
COLD_URI = (
    f"sim://iris/v1?p50_ms={WARM_S * 1000:g}&sigma=0&warmup_s={WARMUP_S:g}&warmup_factor={FACTOR}"
)


def timed_predictions(
    server: ModelServer, http: HttpCall, samples: Callable[..., float]
) -> tuple[list[tuple[float, float, float]], Callable[[], float]]:
    """(uptime before, uptime after, predict seconds) of each prediction made with `predict`,
    the time as the server's own KServe histogram measured it."""
    seen: list[tuple[float, float, float]] = []

    def predict() -> float:
        before = samples(server.metrics_text(), "request_predict_seconds_sum")
        up_before = server.uptime_s
        assert http("POST", f"{server.url}/v1/models/iris:predict", ROW)[0] == 200
        up_after = server.uptime_s
        took = samples(server.metrics_text(), "request_predict_seconds_sum") - before
        seen.append((up_before, up_after, took))
        return took

    return seen, predict


def test_a_cold_server_is_warmup_factor_times_slower_for_warmup_s_then_warm(
    host: ModelServerHost, http: HttpCall, samples: Callable[..., float]
) -> None:
    server = host.launch(spec(COLD_URI), POD)
    seen, predict = timed_predictions(server, http, samples)
    cold_s = FACTOR * WARM_S
    # Predict without a pause until one made after the warm-up is fast again.
    wait_until(lambda: predict() < cold_s and seen[-1][0] >= WARMUP_S, 10, lambda: f"{seen}")
    cold = [took for _, up_after, took in seen if up_after < WARMUP_S]
    assert len(cold) >= 2, seen
    assert all(took >= cold_s for took in cold), seen
    warm = [took for up_before, _, took in seen if up_before >= WARMUP_S]
    warm += [predict() for _ in range(4)]
    assert all(took >= WARM_S for took in warm), warm
    assert statistics.median(warm) < cold_s, warm


def test_a_restarted_server_warms_up_again(
    host: ModelServerHost, http: HttpCall, samples: Callable[..., float]
) -> None:
    server = host.launch(spec(COLD_URI), POD)
    seen, predict = timed_predictions(server, http, samples)
    wait_until(lambda: predict() < FACTOR * WARM_S and seen[-1][0] >= WARMUP_S, 10)
    host.restart(server)
    seen.clear()
    predict()
    ((_, up_after, took),) = seen
    assert up_after < WARMUP_S, "the restart took longer than the warm-up"
    assert took >= FACTOR * WARM_S, seen
