"""The controller's API client can hold a connection for every watch and every worker at once:
a smaller pool makes urllib3 drop connections ("Connection pool is full") and open new ones."""

from __future__ import annotations

from pathlib import Path

from kcanary.controller_run import api_client
from reconcile.analysis_run import AnalysisJob
from reconcile.controller import (
    WATCHED_KINDS,
    Controller,
    ControllerConfig,
    connections_needed,
)
from rollout.evidence import AnalysisResult, Verdict


class PassingAnalyst:
    def analyse(self, job: AnalysisJob) -> AnalysisResult:
        return AnalysisResult(job.canary_hash, job.at, Verdict.PASS, ())


def test_the_api_client_has_a_connection_for_every_watch_and_worker(tmp_path: Path) -> None:
    kubeconfig = tmp_path / "config"
    kubeconfig.write_text(
        "apiVersion: v1\nkind: Config\ncurrent-context: c\n"
        "clusters: [{name: k, cluster: {server: 'https://127.0.0.1:1'}}]\n"
        "users: [{name: u, user: {token: t}}]\n"
        "contexts: [{name: c, context: {cluster: k, user: u}}]\n"
    )
    namespaces = ("a", "b", "c", "d", "e")
    needed = connections_needed(len(namespaces), ControllerConfig.workers)
    client = api_client(str(kubeconfig), None, connections=needed)
    try:
        controller = Controller(
            client, PassingAnalyst(), ControllerConfig(namespaces=namespaces, identity="t")
        )
        watches = len(controller._informers)
        assert watches == WATCHED_KINDS * len(namespaces)
        assert needed >= watches + ControllerConfig.workers
        assert client.configuration.connection_pool_maxsize == needed
    finally:
        client.close()
