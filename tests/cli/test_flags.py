"""Flags take durations and addresses as users write them, and fall back to KCANARY_* env."""

from __future__ import annotations

import argparse

import pytest

from kcanary.flags import add_env_flag, parse_address, parse_duration
from rollout.durations import DurationError
from rollout.durations import parse_duration as annotation_duration


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("30s", 30), ("2m", 120), ("1h30m", 5400), ("1.5s", 1.5), ("500ms", 0.5)],
)
def test_durations_parse_to_seconds(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "abc", "10x", "m", "15", "1.5"])
def test_bad_durations_say_how_to_write_one(text: str) -> None:
    """A bare number is refused as the annotations refuse it, with the same message."""
    with pytest.raises(argparse.ArgumentTypeError) as raised:
        parse_duration(text)
    with pytest.raises(DurationError) as annotation:
        annotation_duration(text)
    assert str(raised.value) == str(annotation.value)
    assert "use a number with a unit, like 30s, 2m, 1h30m or 250ms" in str(raised.value)


def test_negative_durations_are_refused_as_annotations_refuse_them() -> None:
    with pytest.raises(argparse.ArgumentTypeError, match="is negative: use 0s"):
        parse_duration("-5s")


def test_addresses_default_to_all_interfaces() -> None:
    assert parse_address(":8080") == ("0.0.0.0", 8080)
    assert parse_address("127.0.0.1:9") == ("127.0.0.1", 9)
    with pytest.raises(argparse.ArgumentTypeError, match="HOST:PORT"):
        parse_address("8080")


def test_environment_supplies_a_default_that_the_command_line_overrides() -> None:
    env = {"KCANARY_LEASE_DURATION": "20s", "KCANARY_NAMESPACE": "a,b"}
    parser = argparse.ArgumentParser()
    add_env_flag(parser, "--lease-duration", environ=env, type=parse_duration, default=15.0)
    add_env_flag(parser, "--namespace", environ=env, action="append", default=[])
    assert parser.parse_args([]).lease_duration == 20.0
    assert parser.parse_args([]).namespace == ["a", "b"]
    assert parser.parse_args(["--lease-duration", "5s"]).lease_duration == 5.0


def test_a_bad_environment_value_names_the_variable() -> None:
    parser = argparse.ArgumentParser()
    with pytest.raises(SystemExit, match="KCANARY_LEASE_DURATION"):
        add_env_flag(
            parser,
            "--lease-duration",
            environ={"KCANARY_LEASE_DURATION": "soon"},
            type=parse_duration,
        )
