"""The demo's scenarios: each is an ISVC whose model changes from a stable to a canary version.

A scenario is plain ISVC YAML: the local cluster's model servers take their latency and errors
from `storageUri` (see sim.behaviour), so "a canary with 10x the errors" is just another URI,
exactly as a user's CI would change it. Effects are large and steps short so that every
scenario ends in well under three minutes on a laptop.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

STABLE_URI = "sim://iris/v1?p50_ms=20&sigma=0.25&error_rate=0.01"

# Short steps so the demo is quick; analysis every 2 s over ~40 rps of load; a warm-up as short
# (the local cluster's model servers start warm unless their storageUri asks otherwise).
DEMO_STEPS = "10,25,50"
DEMO_INTERVAL = "2s"
DEMO_STEP_DURATION = "15s"
DEMO_WARMUP = "4s"


@dataclass(frozen=True)
class Scenario:
    name: str
    summary: str
    canary_uri: str
    expected: str  # the InferenceRollout phase the rollout must end in
    steps: str = DEMO_STEPS
    progress_deadline: str = "2m"


SCENARIOS: dict[str, Scenario] = {
    scenario.name: scenario
    for scenario in (
        Scenario(
            "good",
            "the new model is as good as the old one: promoted through every step",
            "sim://iris/v2?p50_ms=20&sigma=0.25&error_rate=0.01",
            "Stable",
        ),
        Scenario(
            "error-regression",
            "the new model fails 15% of requests instead of 1%: rolled back",
            "sim://iris/v2?p50_ms=20&sigma=0.25&error_rate=0.15",
            "RolledBack",
        ),
        Scenario(
            "latency-regression",
            "the new model is three times slower: rolled back",
            "sim://iris/v2?p50_ms=60&sigma=0.25&error_rate=0.01",
            "RolledBack",
        ),
        Scenario(
            "tail-latency",
            "the median is unchanged but 5% of requests take 800 ms (p99 only): rolled back",
            "sim://iris/v2?p50_ms=20&sigma=0.25&error_rate=0.01&tail_frac=0.05&tail_ms=800",
            "RolledBack",
        ),
        Scenario(
            "never-ready",
            "the new model never becomes ready: rolled back after the progress deadline",
            "sim://iris/v2?never_ready=1",
            "RolledBack",
            progress_deadline="20s",
        ),
        Scenario(
            "manual",
            "the rollout pauses at 25% until a person promotes it with `kubectl canary promote`",
            "sim://iris/v2?p50_ms=20&sigma=0.25&error_rate=0.01",
            "Stable",
            steps="10,25,pause,50",
        ),
    )
}

ROUTERS = ("istio", "gateway-api", "kserve")


def inference_service(
    scenario: Scenario, router: str, *, name: str, namespace: str, storage_uri: str
) -> dict[str, Any]:
    """The user's ISVC for `scenario` with the kcanary annotations a user would write."""
    serverless = router == "kserve"
    annotations = {
        "serving.kserve.io/deploymentMode": "Serverless" if serverless else "RawDeployment",
        "kcanary.io/strategy": "canary",
        "kcanary.io/traffic": router,
        "kcanary.io/steps": scenario.steps,
        "kcanary.io/interval": DEMO_INTERVAL,
        "kcanary.io/step-duration": DEMO_STEP_DURATION,
        "kcanary.io/warmup": DEMO_WARMUP,
        "kcanary.io/metrics": "knative" if serverless else "istio",
        "kcanary.io/analysis": f"progressDeadline: {scenario.progress_deadline}\n",
    }
    labels = {} if serverless else {"networking.kserve.io/visibility": "cluster-local"}
    return {
        "apiVersion": "serving.kserve.io/v1beta1",
        "kind": "InferenceService",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "labels": labels,
            "annotations": annotations,
        },
        "spec": {
            "predictor": {
                "model": {"modelFormat": {"name": "sklearn"}, "storageUri": storage_uri},
            }
        },
    }
