"""KServe's Serverless traffic rules, one transition at a time (no cluster needed)."""

from __future__ import annotations

from sim.kserve.serverless_traffic import RevisionState, TrafficEntry, next_traffic

ONE_READY = [RevisionState("m-predictor-00001", 1, True)]
TWO_READY = [*ONE_READY, RevisionState("m-predictor-00002", 2, True)]
SECOND_STARTING = [*ONE_READY, RevisionState("m-predictor-00002", 2, False)]


def test_the_first_revision_takes_everything_whatever_the_canary_percent() -> None:
    result = next_traffic(ONE_READY, canary_percent=10, rolled_out=None, previous=None)
    assert result.traffic == (TrafficEntry("m-predictor-00001", 100, True),)
    assert (result.latest_rolledout, result.previous_rolledout) == ("m-predictor-00001", None)


def test_nothing_is_routed_before_a_revision_is_ready() -> None:
    starting = [RevisionState("m-predictor-00001", 1, False)]
    result = next_traffic(starting, canary_percent=None, rolled_out=None, previous=None)
    assert result.traffic == () and result.latest_ready is None
    assert result.latest_created == "m-predictor-00001"


def test_a_starting_revision_leaves_the_split_on_the_latest_ready_one() -> None:
    result = next_traffic(
        SECOND_STARTING, canary_percent=20, rolled_out="m-predictor-00001", previous=None
    )
    assert result.traffic == (
        TrafficEntry("m-predictor-00001", 20, True),
        TrafficEntry("m-predictor-00001", 80, False),
    )
    assert result.latest_created == "m-predictor-00002"
    assert result.latest_ready == "m-predictor-00001"


def test_a_ready_canary_gets_its_percent_and_the_rolled_out_revision_the_rest() -> None:
    result = next_traffic(
        TWO_READY, canary_percent=20, rolled_out="m-predictor-00001", previous=None
    )
    assert result.traffic == (
        TrafficEntry("m-predictor-00002", 20, True),
        TrafficEntry("m-predictor-00001", 80, False),
    )
    assert result.latest_rolledout == "m-predictor-00001"


def test_promotion_moves_the_rolled_out_revision_and_remembers_the_previous_one() -> None:
    for percent in (None, 100):
        result = next_traffic(
            TWO_READY, canary_percent=percent, rolled_out="m-predictor-00001", previous=None
        )
        assert result.latest_rolledout == "m-predictor-00002"
        assert result.previous_rolledout == "m-predictor-00001"
        assert "m-predictor-00002" in result.serving()


def test_a_retired_rolled_out_revision_keeps_its_name_on_record() -> None:
    only_second = [RevisionState("m-predictor-00002", 2, True)]
    result = next_traffic(
        only_second, canary_percent=None, rolled_out="m-predictor-00002",
        previous="m-predictor-00001",
    )  # fmt: skip
    assert result.previous_rolledout == "m-predictor-00001"


def test_tags_appear_only_when_asked_for() -> None:
    result = next_traffic(
        TWO_READY,
        canary_percent=10,
        rolled_out="m-predictor-00001",
        previous=None,
        tag_url=lambda tag: f"http://{tag}-m-predictor-ns.example.com",
    )
    assert [(e.tag, e.url) for e in result.traffic] == [
        ("latest", "http://latest-m-predictor-ns.example.com"),
        ("prev", "http://prev-m-predictor-ns.example.com"),
    ]
