"""Durations in annotations read like Go's: 30s, 2m, 1h30m, 250ms."""

from __future__ import annotations

from datetime import timedelta

import pytest

from rollout.durations import DurationError, format_duration, parse_duration


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("30s", timedelta(seconds=30)),
        ("2m", timedelta(minutes=2)),
        ("1h30m", timedelta(hours=1, minutes=30)),
        ("250ms", timedelta(milliseconds=250)),
        ("1.5s", timedelta(milliseconds=1500)),
        (" 10m ", timedelta(minutes=10)),
    ],
)
def test_durations_are_read_with_their_units(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize("text", ["30", "", "2 m", "1d", "m", "1h30", "-", "--5s"])
def test_a_duration_without_a_known_unit_is_refused(text: str) -> None:
    with pytest.raises(DurationError, match="is not a duration: use a number with a unit"):
        parse_duration(text)


@pytest.mark.parametrize("text", ["-5s", " -1m30s", "- 2m"])
def test_a_negative_duration_is_refused_as_negative(text: str) -> None:
    with pytest.raises(DurationError, match="is negative: use 0s or a longer duration"):
        parse_duration(text)


@pytest.mark.parametrize("text", ["30s", "2m", "1h30m", "250ms", "1h0m5s"])
def test_formatting_reads_back_to_the_same_duration(text: str) -> None:
    assert parse_duration(format_duration(parse_duration(text))) == parse_duration(text)


def test_formatting_uses_the_largest_units() -> None:
    assert format_duration(timedelta(seconds=90)) == "1m30s"
    assert format_duration(timedelta(0)) == "0s"


def test_only_ascii_digits_make_a_duration() -> None:
    with pytest.raises(DurationError):
        parse_duration("٣s")
