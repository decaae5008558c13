"""How a simulated model server behaves, read from the InferenceService's `storageUri`.

A scenario in the local cluster is plain ISVC YAML: the model server that the KServe stand-in
starts for a predictor takes its latency, errors and lifecycle from the `storageUri`, so changing
the model (what a user's CI does) is also how a test changes behaviour.

    sim://<family>/<version>?<parameter>=<value>&...

for example `sim://iris/v2?p50_ms=40&sigma=0.3&error_rate=0.02&tail_frac=0.01&tail_ms=800`.

`<family>` is the model (only `iris` has a classifier; other names serve iris too) and
`<version>` a free label (`v2`) that also nudges the classifier's centroids, so that two versions
give slightly different predictions. Parameters, all optional:

- `p50_ms` (float >= 0, default 20): median latency of a prediction, in milliseconds.
- `sigma` (float >= 0, default 0.25): shape of the lognormal latency; 0 gives a fixed latency.
- `error_rate` (0..1, default 0): share of predictions answered with an error.
- `error_code` (500 or 503, default 500): HTTP status of those errors. The mesh retries 503s
  (Istio's default retry policy), so 503s are seen more often by the serving side than by clients.
- `tail_frac` (0..1, default 0): share of predictions that take `tail_ms` instead.
- `tail_ms` (float >= 0, default 1000): latency of the slow tail, in milliseconds.
- `startup_s` (float >= 0, default 0): seconds after start before the server reports ready.
- `never_ready` (0 or 1, default 0): 1 keeps the server not ready forever (a broken model).
- `crash_after_s` (float > 0, default none): the server crashes this many seconds after each
  start, stays down `restart_s`, then comes back as a restarted container: fresh counters,
  `startup_s` again, and crashes again (a crash loop).
- `restart_s` (float >= 0, default 1): how long a crashed server stays down.
- `warmup_s` (float >= 0, default 0): a cold start: for this many seconds after each start of
  the server (a new pod, a restarted container; `startup_s` included) every prediction takes
  `warmup_factor` times its latency.
- `warmup_factor` (float >= 1, default 2): how many times slower predictions are while warming
  up; needs `warmup_s`.

Any other scheme (`s3://`, `gs://`, `pvc://`, `hf://`, `oci://`, `https://`, ...) is a real model
location: the server behaves healthily with the defaults above.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlsplit

SIM_SCHEME = "sim"


class BehaviourError(ValueError):
    """A `storageUri` that the local cluster cannot turn into a model server behaviour."""


@dataclass(frozen=True)
class ModelBehaviour:
    """Latency, error and lifecycle behaviour of one model server."""

    family: str = "iris"
    version: str = "v1"
    p50_ms: float = 20.0
    sigma: float = 0.25
    error_rate: float = 0.0
    error_code: int = 500
    tail_frac: float = 0.0
    tail_ms: float = 1000.0
    startup_s: float = 0.0
    never_ready: bool = False
    crash_after_s: float | None = None
    restart_s: float = 1.0
    warmup_s: float = 0.0
    warmup_factor: float = 2.0

    def draw_latency_s(self, rng: random.Random, *, uptime_s: float = math.inf) -> float:
        """One prediction's latency in seconds: lognormal around `p50_ms`, or the tail; times
        `warmup_factor` by a server up for less than `warmup_s` seconds."""
        return self._draw_warm_latency_s(rng) * self.latency_factor(uptime_s)

    def latency_factor(self, uptime_s: float) -> float:
        """How many times its warm latency a prediction takes `uptime_s` after the start."""
        return self.warmup_factor if uptime_s < self.warmup_s else 1.0

    def _draw_warm_latency_s(self, rng: random.Random) -> float:
        if self.tail_frac > 0 and rng.random() < self.tail_frac:
            return self.tail_ms / 1000.0
        if self.sigma == 0 or self.p50_ms == 0:
            return self.p50_ms / 1000.0
        return self.p50_ms * math.exp(rng.gauss(0.0, self.sigma)) / 1000.0

    def draw_failure(self, rng: random.Random) -> bool:
        """Whether one prediction fails."""
        return self.error_rate > 0 and rng.random() < self.error_rate


def _non_negative(name: str, raw: str) -> float:
    try:
        value = float(raw)
    except ValueError:
        raise BehaviourError(
            f"storageUri parameter {name}={raw!r} is not a number; use a number >= 0"
        ) from None
    if not math.isfinite(value) or value < 0:
        raise BehaviourError(f"storageUri parameter {name}={raw!r} must be a number >= 0")
    return value


def _fraction(name: str, raw: str) -> float:
    value = _non_negative(name, raw)
    if value > 1:
        raise BehaviourError(f"storageUri parameter {name}={raw!r} must be between 0 and 1")
    return value


def _positive(name: str, raw: str) -> float:
    value = _non_negative(name, raw)
    if value == 0:
        raise BehaviourError(f"storageUri parameter {name}={raw!r} must be a number > 0")
    return value


def _slowdown(name: str, raw: str) -> float:
    value = _non_negative(name, raw)
    if value < 1:
        raise BehaviourError(
            f"storageUri parameter {name}={raw!r} must be a number >= 1: how many times slower "
            "a warming-up server is"
        )
    return value


def _flag(name: str, raw: str) -> bool:
    if raw not in ("0", "1"):
        raise BehaviourError(f"storageUri parameter {name}={raw!r} must be 0 or 1")
    return raw == "1"


def _error_code(name: str, raw: str) -> int:
    if raw not in ("500", "503"):
        raise BehaviourError(f"storageUri parameter {name}={raw!r} must be 500 or 503")
    return int(raw)


# parameter -> parser of its raw value; the keys are also the allowed names.
_PARAMETERS = {
    "p50_ms": _non_negative,
    "sigma": _non_negative,
    "error_rate": _fraction,
    "error_code": _error_code,
    "tail_frac": _fraction,
    "tail_ms": _non_negative,
    "startup_s": _non_negative,
    "never_ready": _flag,
    "crash_after_s": _positive,
    "restart_s": _non_negative,
    "warmup_s": _non_negative,
    "warmup_factor": _slowdown,
}


def parse_storage_uri(storage_uri: str) -> ModelBehaviour:
    """The behaviour a model server loaded from `storage_uri` shows (see the module docstring)."""
    if not isinstance(storage_uri, str) or not storage_uri.strip():
        raise BehaviourError("storageUri is empty; give a model location such as sim://iris/v1")
    parts = urlsplit(storage_uri.strip())
    if not parts.scheme:
        raise BehaviourError(
            f"storageUri {storage_uri!r} has no scheme; use sim://<family>/<version>?... "
            "or a real location such as s3://bucket/path"
        )
    if parts.scheme != SIM_SCHEME:
        return ModelBehaviour()
    family = parts.netloc
    if not family:
        raise BehaviourError(
            f"storageUri {storage_uri!r} names no model family; use sim://<family>/<version>"
        )
    version = parts.path.strip("/") or "v1"
    values: dict[str, object] = {}
    for name, raw in parse_qsl(parts.query, keep_blank_values=True):
        parser = _PARAMETERS.get(name)
        if parser is None:
            allowed = ", ".join(sorted(_PARAMETERS))
            raise BehaviourError(
                f"storageUri parameter {name!r} is unknown; allowed parameters: {allowed}"
            )
        values[name] = parser(name, raw)
    if "warmup_factor" in values and not values.get("warmup_s"):
        raise BehaviourError(
            "storageUri parameter warmup_factor needs warmup_s > 0 (how many seconds the server "
            "stays slow after it starts), for example warmup_s=30&warmup_factor=2"
        )
    return ModelBehaviour(family=family, version=version, **values)  # type: ignore[arg-type]
