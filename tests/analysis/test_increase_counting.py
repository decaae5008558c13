"""Reset-aware exact increases from raw samples, on hand-made series."""

from __future__ import annotations

from analysis.increase import GroupTally, Series, fold_series, member_totals

START = 1000.0


def counter(samples: list[tuple[float, float]], **labels: str) -> Series:
    return Series(labels={"__name__": "requests_total", **labels}, samples=tuple(samples))


def count(
    series: list[Series], *, since: float = START, member_label: str | None = None
) -> dict[str, int]:
    return member_totals(fold_series({}, series, since=since, member_label=member_label).values())


def test_a_series_that_existed_before_the_start_counts_from_its_last_value_before_it() -> None:
    series = counter([(990, 50), (995, 55), (1000, 60), (1005, 64), (1010, 70)], pod="a")
    assert count([series]) == {"": 10}


def test_a_series_born_after_the_start_counts_its_first_value_too() -> None:
    series = counter([(1003, 4), (1008, 9)], pod="b")
    assert count([series]) == {"": 9}


def test_a_counter_reset_continues_from_zero() -> None:
    # 100 -> 130 (+30), restart, 5 (+5), 12 (+7)
    series = counter([(995, 100), (1005, 130), (1010, 5), (1015, 12)], pod="a")
    assert count([series]) == {"": 42}


def test_a_reset_before_the_start_only_moves_the_baseline() -> None:
    series = counter([(990, 100), (995, 3), (1005, 10)], pod="a")
    assert count([series]) == {"": 7}


def test_a_vanished_series_keeps_what_it_counted_while_it_lived() -> None:
    gone = counter([(995, 10), (1005, 25)], pod="old")
    new = counter([(1010, 6), (1015, 11)], pod="new")
    assert count([gone, new]) == {"": 15 + 11}


def test_series_of_several_pods_are_summed() -> None:
    pods = [counter([(999, 10 * i), (1004, 10 * i + i)], pod=f"p{i}") for i in range(1, 5)]
    assert count(pods) == {"": 1 + 2 + 3 + 4}


def test_a_series_with_samples_only_before_the_start_counted_nothing() -> None:
    series = counter([(990, 10), (999, 20)], pod="a")
    assert count([series]) == {"": 0}


def test_non_finite_samples_are_skipped() -> None:
    series = counter([(995, 10), (1005, float("nan")), (1010, 14)], pod="a")
    assert count([series]) == {"": 4}


def bucket(le: str, samples: list[tuple[float, float]], pod: str = "a") -> Series:
    return Series(
        labels={"__name__": "latency_bucket", "le": le, "pod": pod}, samples=tuple(samples)
    )


def test_buckets_are_counted_per_le() -> None:
    buckets = [
        bucket("0.1", [(995, 5), (1005, 8)]),
        bucket("1", [(995, 9), (1005, 15)]),
        bucket("+Inf", [(995, 10), (1005, 17)]),
    ]
    assert count(buckets, member_label="le") == {"0.1": 3, "1": 6, "+Inf": 7}


def test_a_drop_in_one_bucket_resets_the_whole_histogram() -> None:
    # The process restarted between 1005 and 1010: +Inf dropped, but le=0.1 happens to be
    # higher than before (3 fast requests since the restart, against 2 before). Counted
    # alone, le=0.1 would gain 1 and le=+Inf 4: read together, both restart from zero.
    buckets = [
        bucket("0.1", [(995, 1), (1005, 2), (1010, 3)]),
        bucket("+Inf", [(995, 50), (1005, 60), (1010, 4)]),
    ]
    assert count(buckets, member_label="le") == {"0.1": 1 + 3, "+Inf": 10 + 4}


def test_histograms_of_different_pods_reset_independently() -> None:
    buckets = [
        bucket("+Inf", [(995, 50), (1005, 60), (1010, 4)], pod="a"),
        bucket("+Inf", [(995, 7), (1005, 9), (1010, 12)], pod="b"),
    ]
    assert count(buckets, member_label="le") == {"+Inf": 14 + 5}


def test_folding_in_overlapping_pieces_counts_each_sample_once() -> None:
    samples = [(995.0, 10.0), (1000.0, 12.0), (1005.0, 20.0), (1010.0, 3.0), (1015.0, 9.0)]
    whole = count([counter(samples)])
    first = fold_series({}, [counter(samples[:3])], since=START)
    second = fold_series(first, [counter(samples[1:])], since=START)
    assert member_totals(second.values()) == whole == {"": 8 + 3 + 6}


def test_a_resumed_tally_keeps_series_that_have_since_vanished() -> None:
    first = fold_series({}, [counter([(995, 1), (1005, 6)], pod="gone")], since=START)
    second = fold_series(first, [counter([(1020, 2)], pod="new")], since=START)
    assert member_totals(second.values()) == {"": 5 + 2}


def test_an_empty_tally_counts_nothing() -> None:
    assert member_totals([GroupTally()]) == {}
