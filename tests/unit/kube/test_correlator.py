"""The event correlator's decisions (client-go's EventCorrelator behaviour): deduplication of equal events,
aggregation of similar ones after 10 different messages within 10 minutes, and the per-object spam filter."""

from __future__ import annotations

from ramp.kube.correlator import COMBINED_PREFIX, EventCorrelator, Written
from ramp.kube.ratelimit import TokenBucket

WEB = ("argoproj.io/v1alpha1", "Rollout", "ns", "web", "uid-1")
API = ("argoproj.io/v1alpha1", "Rollout", "ns", "api", "uid-2")


def test_an_equal_event_is_a_repeat_of_the_event_written_for_it() -> None:
    correlator = EventCorrelator()
    first = correlator.correlate(WEB, "Normal", "RolloutCompleted", "done", 0.0)
    assert correlator.repeat_of(first.key) is None, "nothing written yet: create"
    correlator.written(first.key, Written("web.1", "ns", 1))
    again = correlator.correlate(WEB, "Normal", "RolloutCompleted", "done", 1.0)
    assert again.key == first.key
    assert correlator.repeat_of(again.key) == Written("web.1", "ns", 1)
    other = correlator.correlate(WEB, "Normal", "RolloutCompleted", "done again", 2.0)
    assert correlator.repeat_of(other.key) is None, "another message is another Event"
    elsewhere = correlator.correlate(API, "Normal", "RolloutCompleted", "done", 3.0)
    assert correlator.repeat_of(elsewhere.key) is None, "another object is another Event"


def test_an_expired_event_is_created_anew() -> None:
    correlator = EventCorrelator()
    first = correlator.correlate(WEB, "Normal", "RolloutCompleted", "done", 0.0)
    correlator.written(first.key, Written("web.1", "ns", 1))
    correlator.expired(first.key)
    assert correlator.repeat_of(first.key) is None


def test_the_tenth_different_message_of_one_reason_within_ten_minutes_is_combined() -> None:
    correlator = EventCorrelator()
    decided = [correlator.correlate(WEB, "Normal", "ScalingReplicaSet", f"scaled to {i}", float(i)) for i in range(12)]
    assert [d.message for d in decided[:9]] == [f"scaled to {i}" for i in range(9)]
    assert len({d.key for d in decided[:9]}) == 9, "each message its own Event"
    combined = decided[9:]
    assert [d.message for d in combined] == [COMBINED_PREFIX + f"scaled to {i}" for i in (9, 10, 11)]
    assert len({d.key for d in combined}) == 1, "every further message counts on one combined Event"
    # Another reason, type or object is counted apart.
    assert correlator.correlate(WEB, "Warning", "ScalingReplicaSet", "scaled to 12", 12.0).message == "scaled to 12"
    assert correlator.correlate(API, "Normal", "ScalingReplicaSet", "scaled to 12", 12.0).message == "scaled to 12"


def test_similar_events_further_apart_than_ten_minutes_start_counting_again() -> None:
    correlator = EventCorrelator()
    for i in range(9):
        correlator.correlate(WEB, "Normal", "ScalingReplicaSet", f"scaled to {i}", i * 100.0)
    late = correlator.correlate(WEB, "Normal", "ScalingReplicaSet", "scaled to 9", 800.0 + 601.0)
    assert late.message == "scaled to 9", "the last similar one was more than 600 s before"


def test_an_object_gets_25_events_then_one_every_five_minutes_and_others_are_not_held_back() -> None:
    correlator = EventCorrelator()
    allowed = [not correlator.correlate(WEB, "Normal", "R", f"m{i}", 0.0).skip for i in range(30)]
    assert allowed == [True] * 25 + [False] * 5
    assert not correlator.correlate(API, "Normal", "R", "m", 0.0).skip, "the budget is per object"
    assert correlator.correlate(WEB, "Normal", "R", "m", 299.0).skip
    assert not correlator.correlate(WEB, "Normal", "R", "m", 300.5).skip, "one token back after 5 minutes"
    assert correlator.correlate(WEB, "Normal", "R", "m", 301.0).skip


def test_a_burst_of_one_reason_never_hides_another_reason_about_the_same_object() -> None:
    correlator = EventCorrelator()
    for i in range(40):
        correlator.correlate(WEB, "Normal", "ScalingReplicaSet", f"scaled {i}", 0.0)
    assert correlator.correlate(WEB, "Normal", "ScalingReplicaSet", "scaled again", 1.0).skip
    assert not correlator.correlate(WEB, "Warning", "AnalysisRunFailed", "run failed", 1.0).skip


def test_try_take_never_lends_a_token_into_the_future() -> None:
    bucket = TokenBucket(rate=1.0, burst=2)
    assert [bucket.try_take(0.0) for _ in range(3)] == [True, True, False]
    assert not bucket.try_take(0.5)
    assert bucket.try_take(1.0)
    assert bucket.reserve(1.0) == 1.0, "a refused try took nothing: the next reservation waits one token"
