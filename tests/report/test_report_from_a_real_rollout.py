"""`kcanary report` on a rollout the controller really rolled back on the local cluster: the files
exist, are valid PNG and HTML, and show the decision."""

from __future__ import annotations

import socket
from html.parser import HTMLParser
from pathlib import Path

import numpy
import pytest
from kubernetes import config as k8s_config
from matplotlib import image as matplotlib_image
from matplotlib import pyplot
from report_cluster import ReportCluster

from kcanary.cli import main
from kcanary.report.gather import gather_from_client
from kcanary.report.plots import Clock, draw_weight

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


class _Page(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.images: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "img":
            self.images += [value for name, value in attrs if name == "src" and value]

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def _report(cluster: ReportCluster, out: Path, *extra: str, name: str = "iris") -> int:
    return main(["report", name, "-n", cluster.namespace, "--kubeconfig", str(cluster.kubeconfig),
                 "--out", str(out), *extra])  # fmt: skip


def _parse(index: Path) -> _Page:
    page = _Page()
    page.feed(index.read_text(encoding="utf-8"))
    page.close()
    return page


def test_report_writes_valid_pngs_and_an_html_page_naming_the_decision(
    rolled_back: ReportCluster, tmp_path: Path
) -> None:
    out = tmp_path / "report"
    assert _report(rolled_back, out, "--prometheus-url", rolled_back.prometheus) == 0
    page = _parse(out / "index.html")
    assert {"overview.png", "weight.png", "error-rate.png", "latency.png", "analysis.png"} <= set(
        page.images
    )
    for name in page.images:
        path = out / name
        assert path.read_bytes().startswith(PNG_SIGNATURE), name
        pixels = matplotlib_image.imread(path)
        assert pixels.shape[0] > 200 and pixels.shape[1] > 400, name
    text = " ".join(page.text)
    assert "Outcome: rolled-back" in text
    # The reason names the checks that failed: error-rate-harm always, sample-ratio at times
    # (the split is noisy over the few seconds the canary serves before the rollback).
    assert "analysis failed: Fail (error-rate-harm" in text
    assert "error-rate-harm" in text and "Fail" in text  # the evidence table


def test_weight_plot_ends_at_zero_after_the_rollback(rolled_back: ReportCluster) -> None:
    api = k8s_config.new_client_from_config(config_file=str(rolled_back.kubeconfig))  # type: ignore[no-untyped-call]
    try:
        data = gather_from_client(api, rolled_back.namespace, "iris", rolled_back.prometheus)
    finally:
        api.close()
    assert data.weight_source == "prometheus"
    assert max(point.percent for point in data.weight) > 0
    figure, ax = pyplot.subplots()
    try:
        draw_weight(ax, Clock.for_report(data), data)
        drawn = numpy.asarray(ax.lines[0].get_ydata(), dtype=float).tolist()
        assert drawn[-1] == 0
        assert max(drawn) == max(point.percent for point in data.weight)
    finally:
        pyplot.close(figure)
    assert data.revisions["canary"].error_rate, "the canary's error rate was not read"
    assert max(v for _, v in data.revisions["canary"].error_rate) > 0.1
    assert data.analysis["error-rate-harm"]["canary"]


def test_without_prometheus_the_report_is_drawn_from_status_and_events(
    rolled_back: ReportCluster, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "report"
    assert _report(rolled_back, out) == 0
    assert "no Prometheus given" in capsys.readouterr().err
    page = _parse(out / "index.html")
    assert "weight.png" in page.images and (out / "weight.png").is_file()
    assert "Outcome: rolled-back" in " ".join(page.text)


def test_unreachable_prometheus_is_a_warning_not_a_failure(
    rolled_back: ReportCluster, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{sock.getsockname()[1]}"
    out = tmp_path / "report"
    assert _report(rolled_back, out, "--prometheus-url", closed) == 0
    err = capsys.readouterr().err
    assert f"cannot reach Prometheus at {closed}" in err
    assert (out / "index.html").is_file() and (out / "weight.png").is_file()


def test_an_isvc_that_never_rolled_out_gets_a_page_that_says_so(
    rolled_back: ReportCluster, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "report"
    assert _report(rolled_back, out, "--prometheus-url", rolled_back.prometheus, name="calm") == 0
    assert "no rollout yet" in capsys.readouterr().out
    assert "No canary has rolled out yet" in " ".join(_parse(out / "index.html").text)


def test_unknown_isvc_is_one_line_and_a_non_zero_exit(
    rolled_back: ReportCluster, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "report"
    assert _report(rolled_back, out, name="nosuch") == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and 'InferenceService "nosuch" not found' in err
    assert not out.exists()
