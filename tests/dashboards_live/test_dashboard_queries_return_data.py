"""Every query of every dashboard, run against the local cluster's real Prometheus during real
rollouts, returns data: a panel that is empty on a working installation is a broken panel."""

from __future__ import annotations

import time

import pytest
import requests
from cluster_rollouts import LiveRollouts

from dashboards.queries import all_queries, substitute

ISVCS = ("iris", "sless", "halt")
"""Each query must return data for at least one of the rollouts (a Knative panel only for the
Serverless one, a promotion annotation only for the promoted one)."""

CHECK = "error-rate-harm"


def _returns_data(prometheus: str, expr: str, start: float) -> bool:
    response = requests.get(
        f"{prometheus}/api/v1/query_range",
        params={"query": expr, "start": f"{start:.3f}", "end": f"{time.time():.3f}", "step": "1"},
        timeout=10,
    )
    body = response.json()
    assert body.get("status") == "success", f"Prometheus refused {expr}: {body.get('error')}"
    return any(series.get("values") for series in body["data"]["result"])


def test_every_dashboard_query_returns_data_during_rollouts(live_rollouts: LiveRollouts) -> None:
    empty = []
    for dashboard, panel, expr in all_queries():
        candidates = [
            substitute(
                expr,
                {"namespace": live_rollouts.namespace, "isvc": isvc, "name": isvc, "check": CHECK},
            )
            for isvc in ISVCS
        ]
        if not any(_returns_data(live_rollouts.prometheus, q, live_rollouts.started)
                   for q in candidates):  # fmt: skip
            empty.append(f"{dashboard} / {panel}: {candidates[0]}")
    assert empty == [], "queries without data:\n" + "\n".join(empty)


@pytest.mark.parametrize("source", ["istio_requests_total", "revision_app_request_count",
                                    "request_predict_seconds_count"])  # fmt: skip
def test_each_metric_source_has_dashboard_queries(source: str) -> None:
    assert any(source in expr for _, _, expr in all_queries())
