"""Where the report tests find their rolled-back rollout."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class ReportCluster:
    namespace: str
    kubeconfig: Path
    prometheus: str
