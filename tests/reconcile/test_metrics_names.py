"""The controller exports exactly the metric names and labels that DESIGN.md section 8 fixes."""

from __future__ import annotations

import platform
from importlib import metadata

from prometheus_client import generate_latest

from reconcile.metrics import MetricsRecorder


def exposition(recorder: MetricsRecorder) -> str:
    return generate_latest(recorder.registry).decode()


def test_phase_gauge_is_one_for_the_current_phase_and_zero_for_the_rest() -> None:
    recorder = MetricsRecorder()
    recorder.record_phase("models", "iris", "Progressing")
    recorder.record_phase("models", "iris", "Promoting")
    text = exposition(recorder)
    assert 'kcanary_rollout_phase{name="iris",namespace="models",phase="Promoting"} 1.0' in text
    assert 'kcanary_rollout_phase{name="iris",namespace="models",phase="Progressing"} 0.0' in text


def test_all_fixed_names_are_exported() -> None:
    recorder = MetricsRecorder()
    recorder.record_phase("ns", "a", "Stable")
    recorder.record_weight("ns", "a", 25)
    recorder.record_check(
        "ns",
        "a",
        "error-rate",
        verdict="Pass",
        values={"stable": 0.01, "canary": 0.012},
        threshold=0.015,
    )
    recorder.record_decision("ns", "a", "promoted")
    recorder.analysis_duration.observe(0.02)
    recorder.reconcile_duration.observe(0.003)
    recorder.reconcile_errors.inc()
    recorder.prometheus_query_errors.labels("timeout").inc()
    text = exposition(recorder)
    for name in (
        "kcanary_rollout_phase{",
        'kcanary_canary_weight{name="a",namespace="ns"} 25.0',
        'kcanary_analysis_verdict{check="error-rate",name="a",namespace="ns",verdict="Pass"} 1.0',
        'kcanary_analysis_value{check="error-rate",name="a",namespace="ns",revision="canary"}',
        'kcanary_analysis_threshold{check="error-rate",name="a",namespace="ns"} 0.015',
        'kcanary_decisions_total{decision="promoted",name="a",namespace="ns"} 1.0',
        "kcanary_analysis_duration_seconds_bucket{",
        "kcanary_reconcile_duration_seconds_bucket{",
        "kcanary_reconcile_errors_total 1.0",
        'kcanary_prometheus_query_errors_total{reason="timeout"} 1.0',
    ):
        assert name in text, name


def test_forgetting_a_rollout_removes_its_series() -> None:
    recorder = MetricsRecorder()
    recorder.record_phase("ns", "gone", "Stable")
    recorder.record_weight("ns", "gone", 0)
    recorder.record_check("ns", "gone", "latency", verdict="Pass", values={}, threshold=1.0)
    recorder.forget_rollout("ns", "gone", checks=["latency"])
    assert 'name="gone"' not in exposition(recorder)


def test_build_info_names_the_installed_version_and_python() -> None:
    text = exposition(MetricsRecorder())
    version, python = metadata.version("kcanary"), platform.python_version()
    assert f'kcanary_build_info{{python="{python}",version="{version}"}} 1.0' in text
