"""What the CLI tests share besides fixtures: how a run of the command is reported, the API
coordinates of the objects."""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ISVC_API = ("serving.kserve.io", "v1beta1", "inferenceservices")
ROLLOUT_API = ("kcanary.io", "v1alpha1", "inferencerollouts")
VENV_BIN = Path(sys.executable).parent

STRATEGY_ANNOTATIONS = {
    "kcanary.io/strategy": "canary",
    "kcanary.io/traffic": "kserve",
    "kcanary.io/steps": "10,25,50",
    "kcanary.io/interval": "30s",
}


@dataclass(frozen=True)
class Result:
    code: int
    out: str
    err: str


Kcanary = Callable[..., Result]
