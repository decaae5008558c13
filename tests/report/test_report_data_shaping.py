"""How a recorded InferenceRollout status and its Events become what the report draws, without a
cluster: the rollout picked, the evidence, the weight rebuilt from Events, the page's words."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
import yaml

from kcanary.report import write_report
from kcanary.report.gather import ReportData, report_window, shape
from kcanary.report.page import page
from kcanary.report.prometheus_range import Missing, Series
from kcanary.report.record import IN_PROGRESS, RolloutRecord, rollout_record
from kcanary.report.timeline import in_window, step_marks, weight_from_events

RECORDED = Path(__file__).parent / "recorded"


def _recorded(name: str) -> Any:
    return yaml.safe_load((RECORDED / name).read_text())


@pytest.fixture
def rolled_back() -> dict[str, Any]:
    recorded: dict[str, Any] = _recorded("error_regression.yaml")
    return recorded


def _shape(recorded: dict[str, Any]) -> ReportData:
    record = rollout_record(recorded["rollout"])
    assert record.finished_at is not None
    window = report_window(record, record.finished_at + timedelta(minutes=5))
    return shape(recorded["isvc"], record, recorded["events"], None, window)


def test_a_rolled_back_rollout_keeps_its_outcome_reason_and_evidence(
    rolled_back: dict[str, Any],
) -> None:
    record = rollout_record(rolled_back["rollout"])
    assert (record.phase, record.outcome) == ("RolledBack", "rolled-back")
    assert record.reason == "analysis failed: Fail (error-rate-harm)"
    assert record.canary is not None and record.canary.revision == "c26b56bb9e"
    assert record.analysis is not None and record.analysis.verdict == "Fail"
    harm = next(c for c in record.analysis.checks if c.name == "error-rate-harm")
    assert harm.verdict == "Fail"
    assert harm.interval is not None and harm.interval[0] > 0  # the canary is surely worse
    assert harm.evalue is not None and harm.threshold is not None
    assert harm.evalue >= harm.threshold
    assert harm.canary_samples is not None and harm.canary_samples > 0


def test_after_a_promotion_the_rollout_comes_from_the_history() -> None:
    record = rollout_record(_recorded("promoted_status.yaml"))
    assert (record.phase, record.outcome) == ("Stable", "promoted")
    assert record.started_at == datetime(2026, 11, 23, 12, 27, 1, tzinfo=UTC)
    assert record.canary is not None and record.canary.revision == record.stable.revision  # type: ignore[union-attr]


def test_a_status_without_history_is_a_rollout_that_never_started() -> None:
    record = rollout_record(
        {"metadata": {"name": "a", "namespace": "b"}, "status": {"phase": "Stable"}}
    )
    assert not record.started and record.outcome == IN_PROGRESS and record.analysis is None


def test_missing_and_malformed_fields_are_none_not_errors() -> None:
    rollout = {
        "status": {
            "phase": "Progressing",
            "canaryWeight": "x",
            "lastAnalysis": {"checks": [{"name": "c", "interval": [1], "evalue": "n/a"}, 7]},
        }
    }
    record = rollout_record(rollout)
    assert record.current_weight == 0
    assert record.analysis is not None and len(record.analysis.checks) == 1
    check = record.analysis.checks[0]
    assert (check.interval, check.evalue, check.stable_samples) == (None, None, None)


def test_weight_from_events_follows_the_steps_and_ends_at_zero_after_the_rollback(
    rolled_back: dict[str, Any],
) -> None:
    record = rollout_record(rolled_back["rollout"])
    assert record.started_at is not None
    events = in_window(rolled_back["events"], record.started_at, record.finished_at)
    assert [p.percent for p in weight_from_events(record, events)] == [0, 10, 25, 0]
    assert [m.label for m in step_marks(events)] == ["step 1/3: 10%", "step 2/3: 25%"]


def test_events_before_the_rollout_started_are_not_its_steps(rolled_back: dict[str, Any]) -> None:
    record = rollout_record(rolled_back["rollout"])
    assert record.started_at is not None
    old = {"reason": "StepStarted", "message": "step 3/3: 50% of traffic to canary old",
           "lastTimestamp": "2026-11-23T11:00:00Z"}  # fmt: skip
    events = in_window([old, *rolled_back["events"]], record.started_at, record.finished_at)
    assert "step 3/3: 50%" not in [m.label for m in step_marks(events)]


def test_without_prometheus_the_data_says_what_is_missing(rolled_back: dict[str, Any]) -> None:
    data = _shape(rolled_back)
    assert data.weight_source == "events"
    assert data.weight[-1].percent == 0
    assert data.revisions == {} and data.analysis == {}
    assert any("no Prometheus given" in text for text in data.missing)
    assert data.metric_source == "istio"
    assert [m.kind for m in data.marks] == ["step", "step", "decision"]


def test_the_window_starts_before_the_rollout_and_ends_after_the_decision(
    rolled_back: dict[str, Any],
) -> None:
    record = rollout_record(rolled_back["rollout"])
    assert record.started_at is not None and record.finished_at is not None
    window = report_window(record, record.finished_at + timedelta(hours=1))
    assert window.start < record.started_at and window.end > record.finished_at
    assert window.step_s >= 1 and window.rate_s >= 10
    in_progress = report_window(record, record.finished_at - timedelta(seconds=1))
    assert in_progress.end == record.finished_at - timedelta(seconds=1)  # never in the future


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.cells: list[str] = []

    def handle_data(self, data: str) -> None:
        self.cells.append(data.strip())


def test_the_page_names_the_outcome_and_lists_every_check(rolled_back: dict[str, Any]) -> None:
    data = _shape(rolled_back)
    parser = _Text()
    parser.feed(page(data, []))
    text = " ".join(parser.cells)
    assert "Outcome: rolled-back. Reason: analysis failed: Fail (error-rate-harm)." in text
    assert data.record.analysis is not None
    for check in data.record.analysis.checks:
        assert check.name in parser.cells


def test_the_page_escapes_what_the_cluster_wrote(rolled_back: dict[str, Any]) -> None:
    rolled_back["rollout"]["status"]["history"][-1]["reason"] = "<script>alert(1)</script>"
    assert "<script>" not in page(_shape(rolled_back), [])


def test_writing_a_report_from_status_and_events_only(
    rolled_back: dict[str, Any], tmp_path: Path
) -> None:
    files = write_report(_shape(rolled_back), tmp_path / "out")
    assert [p.name for p in files.images] == ["overview.png", "weight.png", "analysis.png"]
    for path in files.images:
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert files.index.read_text().count("<img ") == 3


class _RecordingPrometheus:
    """Answers every range query with one flat series and remembers what was asked."""

    def __init__(self) -> None:
        self.asked: list[str] = []

    def query(
        self, expr: str, start: datetime, end: datetime, step_s: float
    ) -> list[Series] | Missing:
        self.asked.append(expr)
        return [Series({"check": "error-rate-harm", "revision": "canary"}, ((end, 0.0),))]


def test_revisions_are_queried_with_the_rollouts_own_metric_template(
    rolled_back: dict[str, Any],
) -> None:
    record = rollout_record(rolled_back["rollout"])
    prometheus = _RecordingPrometheus()
    shape(rolled_back["isvc"], record, [], prometheus, report_window(record, _later(record)))
    asked = "\n".join(prometheus.asked)
    assert 'destination_workload="iris-primary-predictor"' in asked  # stable: the primary copy
    assert 'destination_workload="iris-predictor"' in asked  # canary: the user's ISVC
    assert 'reporter="destination"' in asked and 'response_code=~"5.."' in asked
    assert 'kcanary_canary_weight{namespace="demo", name="iris"}' in asked


def test_after_a_serverless_promotion_the_previous_knative_revision_is_stable() -> None:
    recorded = _recorded("serverless_promoted.yaml")
    record = rollout_record(recorded["rollout"])
    prometheus = _RecordingPrometheus()
    data = shape(recorded["isvc"], record, [], prometheus, report_window(record, _later(record)))
    asked = "\n".join(prometheus.asked)
    assert 'revision_name="iris-predictor-00001"' in asked
    assert 'revision_name="iris-predictor-00002"' in asked
    assert any("iris-predictor-00001" in text for text in data.missing)  # and it says so


class _PointsAt:
    """Answers every range query with one series at the given offsets from the decision."""

    def __init__(self, decision: datetime, offsets_s: tuple[int, ...]) -> None:
        self._points = tuple((decision + timedelta(seconds=o), 0.25) for o in offsets_s)

    def query(
        self, expr: str, start: datetime, end: datetime, step_s: float
    ) -> list[Series] | Missing:
        return [Series({}, self._points)]


@pytest.mark.parametrize(
    ("offsets_s", "kept_s"),
    [
        ((-2, -1, 0, 1, 2), (-2, -1, 0)),  # up to the decision
        # Rolled back before Prometheus had two scrapes of the canary: the first point after
        # the decision, whose rate window holds only requests served before it.
        ((3, 4, 5), (3,)),
    ],
)
def test_the_canary_series_end_at_the_decision(
    rolled_back: dict[str, Any], offsets_s: tuple[int, ...], kept_s: tuple[int, ...]
) -> None:
    record = rollout_record(rolled_back["rollout"])
    assert record.finished_at is not None
    prometheus = _PointsAt(record.finished_at, offsets_s)
    data = shape(rolled_back["isvc"], record, [], prometheus, report_window(record, _later(record)))
    canary = data.revisions["canary"]
    kept = [(at - record.finished_at).total_seconds() for at, _ in canary.error_rate]
    assert kept == list(kept_s)
    assert len(data.revisions["stable"].error_rate) == len(offsets_s)  # stable is not cut


def _later(record: RolloutRecord) -> datetime:
    assert record.finished_at is not None
    return record.finished_at + timedelta(minutes=1)
