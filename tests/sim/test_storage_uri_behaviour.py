"""A scenario's model behaviour is read from the ISVC's storageUri."""

from __future__ import annotations

import random
import statistics

import pytest

from sim.behaviour import BehaviourError, ModelBehaviour, parse_storage_uri


def test_sim_uri_sets_every_parameter() -> None:
    behaviour = parse_storage_uri(
        "sim://iris/v2?p50_ms=40&sigma=0.3&error_rate=0.02&tail_frac=0.01&tail_ms=800"
        "&startup_s=2&never_ready=1&crash_after_s=5&restart_s=0.5&error_code=503"
        "&warmup_s=6&warmup_factor=5"
    )
    assert behaviour == ModelBehaviour(
        family="iris",
        version="v2",
        p50_ms=40.0,
        sigma=0.3,
        error_rate=0.02,
        error_code=503,
        tail_frac=0.01,
        tail_ms=800.0,
        startup_s=2.0,
        never_ready=True,
        crash_after_s=5.0,
        restart_s=0.5,
        warmup_s=6.0,
        warmup_factor=5.0,
    )


@pytest.mark.parametrize(
    "uri", ["s3://models/iris/v7", "gs://bucket/model", "pvc://claim/path", "hf://org/model"]
)
def test_real_model_locations_behave_healthily(uri: str) -> None:
    assert parse_storage_uri(uri) == ModelBehaviour()


def test_sim_uri_without_parameters_uses_defaults_and_version() -> None:
    behaviour = parse_storage_uri("sim://iris/v3")
    assert (behaviour.family, behaviour.version, behaviour.error_rate) == ("iris", "v3", 0.0)


@pytest.mark.parametrize(
    ("uri", "words"),
    [
        ("sim://iris/v1?error_rate=2", ["error_rate", "between 0 and 1"]),
        ("sim://iris/v1?p50_ms=fast", ["p50_ms", "number"]),
        ("sim://iris/v1?never_ready=yes", ["never_ready", "0 or 1"]),
        ("sim://iris/v1?error_code=404", ["error_code", "500 or 503"]),
        ("sim://iris/v1?crash_after_s=0", ["crash_after_s", "> 0"]),
        ("sim://iris/v1?latency=3", ["'latency'", "allowed parameters", "p50_ms"]),
        ("sim://iris/v1?warmup_s=-1", ["warmup_s", ">= 0"]),
        ("sim://iris/v1?warmup_s=soon", ["warmup_s", "not a number"]),
        ("sim://iris/v1?warmup_s=6&warmup_factor=0.5", ["warmup_factor", ">= 1", "slower"]),
        ("sim://iris/v1?warmup_s=6&warmup_factor=inf", ["warmup_factor", ">= 0"]),
        ("sim://iris/v1?warmup_factor=5", ["warmup_factor needs warmup_s > 0"]),
        ("sim://iris/v1?warmup_s=0&warmup_factor=5", ["warmup_factor needs warmup_s > 0"]),
        ("iris/v1", ["no scheme"]),
        ("sim:///v1", ["family"]),
        ("", ["empty"]),
    ],
)
def test_bad_storage_uri_says_what_to_change(uri: str, words: list[str]) -> None:
    with pytest.raises(BehaviourError) as raised:
        parse_storage_uri(uri)
    for word in words:
        assert word in str(raised.value)


def test_latency_draws_have_the_configured_median_and_tail() -> None:
    behaviour = parse_storage_uri("sim://iris/v1?p50_ms=40&sigma=0.3&tail_frac=0.1&tail_ms=900")
    rng = random.Random(1)
    draws = [behaviour.draw_latency_s(rng) for _ in range(20_000)]
    tail = sum(1 for d in draws if d == 0.9)
    assert 1_800 < tail < 2_200
    body = [d for d in draws if d != 0.9]
    assert statistics.median(body) == pytest.approx(0.040, rel=0.03)


def test_zero_sigma_gives_a_fixed_latency() -> None:
    behaviour = parse_storage_uri("sim://iris/v1?p50_ms=12&sigma=0")
    assert behaviour.draw_latency_s(random.Random(0)) == pytest.approx(0.012)


def test_a_warming_up_server_is_warmup_factor_times_slower_until_warmup_s() -> None:
    behaviour = parse_storage_uri("sim://iris/v1?p50_ms=12&sigma=0&warmup_s=6&warmup_factor=5")
    rng = random.Random(0)
    assert behaviour.draw_latency_s(rng, uptime_s=0.0) == pytest.approx(0.060)
    assert behaviour.draw_latency_s(rng, uptime_s=5.99) == pytest.approx(0.060)
    assert behaviour.draw_latency_s(rng, uptime_s=6.0) == pytest.approx(0.012)
    assert behaviour.draw_latency_s(rng) == pytest.approx(0.012), "up long ago"


def test_without_warmup_s_a_server_starts_warm() -> None:
    behaviour = parse_storage_uri("sim://iris/v1?p50_ms=12&sigma=0")
    assert behaviour.draw_latency_s(random.Random(0), uptime_s=0.0) == pytest.approx(0.012)
    twice = parse_storage_uri("sim://iris/v1?p50_ms=12&sigma=0&warmup_s=30")
    assert twice.latency_factor(0.0) == 2.0, "the default factor: twice as slow"
