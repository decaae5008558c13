"""Canary steps: the weights the canary walks through, with pauses between them.

`10,25,50` sends 10%, then 25%, then 50% of the traffic to the canary, each for the step
duration (less once the analysis passes, with advanceOnPass); promotion follows the last step.
A `pause` step holds the weight reached so far until someone resumes the rollout; `pause:10m`
holds it for ten minutes. The status's `currentStep` is an index into this list, pauses
included, so a restarted controller knows whether it was waiting at a pause.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from rollout.durations import DurationError, format_duration, parse_duration


@dataclass(frozen=True)
class WeightStep:
    """Send `weight` percent of the traffic to the canary."""

    weight: int

    def __str__(self) -> str:
        return str(self.weight)


@dataclass(frozen=True)
class PauseStep:
    """Hold the current weight: until resumed when `duration` is None, else for `duration`."""

    duration: timedelta | None = None

    def __str__(self) -> str:
        return "pause" if self.duration is None else f"pause:{format_duration(self.duration)}"


Step = WeightStep | PauseStep


class StepsError(ValueError):
    """A steps list that cannot be used; the message names the step and says what is allowed."""


def parse_step(item: object, position: int) -> Step:
    """Read one step: an int or numeric string weight, `pause`, or `pause:DURATION`.

    `position` is 1-based and only used in the message.
    """
    if isinstance(item, WeightStep | PauseStep):
        return item
    if isinstance(item, bool):
        raise _bad_step(position, item)
    if isinstance(item, int):
        return _weight(item, position, item)
    if not isinstance(item, str):
        raise _bad_step(position, item)
    text = item.strip()
    if text == "pause":
        return PauseStep()
    if text.startswith("pause:"):
        try:
            duration = parse_duration(text.removeprefix("pause:"))
        except DurationError as error:
            raise StepsError(f'step {position} "{item}": {error}') from None
        if duration <= timedelta(0):
            raise StepsError(f'step {position} "{item}": a timed pause must be longer than 0s')
        return PauseStep(duration)
    if text.isascii() and text.isdigit():
        return _weight(int(text), position, item)
    raise _bad_step(position, item)


def parse_steps(items: Sequence[object] | str) -> tuple[Step, ...]:
    """Read and check a whole list (or comma-separated string) of steps."""
    raw: Sequence[object] = items.split(",") if isinstance(items, str) else items
    steps = tuple(parse_step(item, index) for index, item in enumerate(raw, start=1))
    check_steps(steps)
    return steps


def check_steps(steps: Sequence[Step]) -> None:
    """Weights must strictly increase and at least one weight must be given."""
    if not any(isinstance(step, WeightStep) for step in steps):
        raise StepsError("needs at least one canary weight, for example 10,25,50")
    previous = 0
    for position, step in enumerate(steps, start=1):
        if isinstance(step, WeightStep):
            if step.weight <= previous:
                raise StepsError(
                    f"step {position} ({step.weight}) must be greater than the weight before it "
                    f"({previous}): weights strictly increase"
                )
            previous = step.weight


def format_steps(steps: Sequence[Step]) -> str:
    """The short-key form of a steps list, as `kcanary.io/steps` takes it."""
    return ",".join(str(step) for step in steps)


def _weight(value: int, position: int, original: object) -> WeightStep:
    if not 1 <= value <= 100:
        raise _bad_step(position, original)
    return WeightStep(value)


def _bad_step(position: int, item: object) -> StepsError:
    return StepsError(
        f'step {position} "{item}" is not a percentage 1-100 or "pause"/"pause:DURATION"'
    )
