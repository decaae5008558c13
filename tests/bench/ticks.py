"""Hand-made ticks for driving deciders look by look."""

from __future__ import annotations

import numpy as np

from bench.simulator import Arm, Tick

BOUNDS = (0.1, 0.2, 0.5, float("inf"))


def arm(requests: list[int], failures: list[int], buckets: list[list[int]]) -> Arm:
    """One revision's counts for several runs; `buckets` are per-bucket (not cumulative)."""
    return Arm(
        np.array(requests, np.int64),
        np.array(failures, np.int64),
        np.cumsum(np.array(buckets, np.int64), axis=-1),
    )


def fast(runs: int, requests: int, failures: int = 0) -> Arm:
    """`requests` per run, all faster than the first bound."""
    return arm([requests] * runs, [failures] * runs, [[requests, 0, 0, 0]] * runs)


def tick_of(index: int, stable: Arm, canary: Arm) -> Tick:
    """A tick whose increments are `stable` and `canary` (the totals are not used by the
    baselines and are set to the increments)."""
    return Tick(
        index=index,
        seconds=30.0 * (index + 1),
        weights=(0.1,) * (index + 1),
        stable=stable,
        canary=canary,
        stable_per_interval=stable.requests[:, None],
        canary_per_interval=canary.requests[:, None],
        bounds=BOUNDS,
        stable_increment=stable,
        canary_increment=canary,
    )
