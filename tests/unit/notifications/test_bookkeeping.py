"""The notified annotation: upstream's format and key shape, the newest 100 kept, pending deliveries never cut,
and one occurrence one key (the same decision twice has the same key; a later event never has)."""

from __future__ import annotations

import json

from ramp.notifications.bookkeeping import (
    HISTORY_LIMIT,
    NOTIFIED_ANNOTATION,
    PENDING_ANNOTATION,
    Ledger,
    PendingDelivery,
    delivery_key,
    ledger_annotations,
    occurrence_of,
    read_ledger,
)

PROMISE = PendingDelivery("on-rollout-completed", "[0].x", "slack", "ops", "RolloutCompleted", "Normal", "argo", 5)


def _rollout(version: str) -> dict[str, object]:
    return {"kind": "Rollout", "metadata": {"name": "web", "resourceVersion": version}}


def test_the_key_is_upstreams_state_key_with_the_occurrence_first_and_the_config_namespace_for_self_service() -> None:
    assert delivery_key(occurrence="o", trigger="t", condition="[0].h", service="s", recipient="r") == "o:t:[0].h:s:r"
    assert (
        delivery_key(occurrence="o", trigger="t", condition="[0].h", service="s", recipient="r", config_namespace="n")
        == "o:n:t:[0].h:s:r"
    )


def test_a_decision_made_again_from_the_same_state_is_the_same_occurrence_and_a_later_one_is_not() -> None:
    first = occurrence_of(_rollout("10"), "RolloutAborted", "metric failed")
    assert occurrence_of(_rollout("10"), "RolloutAborted", "metric failed") == first
    assert occurrence_of(_rollout("11"), "RolloutAborted", "metric failed") != first
    assert occurrence_of(_rollout("10"), "AnalysisRunFailed", "metric failed") != first
    assert occurrence_of(_rollout("10"), "RolloutAborted", "x", once_per="v2") == "v2", "oncePer, as upstream"


def test_sent_keys_are_written_as_upstream_does_a_json_object_of_unix_times() -> None:
    ledger = Ledger().with_pending({"k": PROMISE}).with_sent("k", 1700)
    written = ledger_annotations(ledger)
    assert json.loads(written[NOTIFIED_ANNOTATION] or "") == {"k": 1700}
    assert written[PENDING_ANNOTATION] is None, "nothing pending: the annotation is removed"
    assert read_ledger({k: v for k, v in written.items() if v is not None}) == ledger


def test_pending_deliveries_survive_a_round_trip_through_the_annotations() -> None:
    ledger = Ledger().with_pending({"k": PROMISE})
    annotations = {k: v for k, v in ledger_annotations(ledger).items() if v is not None}
    assert read_ledger(annotations).pending == {"k": PROMISE}
    assert read_ledger(annotations).knows("k")


def test_only_the_newest_hundred_sent_keys_are_kept_and_pending_ones_are_never_cut() -> None:
    ledger = Ledger().with_pending({f"p{i}": PROMISE for i in range(3)})
    for i in range(HISTORY_LIMIT + 20):
        ledger = ledger.with_sent(f"k{i}", 1000 + i)
    assert len(ledger.notified) == HISTORY_LIMIT
    assert "k0" not in ledger.notified and f"k{HISTORY_LIMIT + 19}" in ledger.notified
    assert set(ledger.pending) == {"p0", "p1", "p2"}


def test_a_delivery_given_up_is_pending_no_more_and_not_remembered_as_sent() -> None:
    ledger = Ledger().with_pending({"k": PROMISE}).with_given_up("k")
    assert not ledger.knows("k")


def test_unreadable_annotations_count_as_empty_as_upstream_reads_them() -> None:
    assert read_ledger({NOTIFIED_ANNOTATION: "{not json", PENDING_ANNOTATION: "[1]"}) == Ledger()
    assert read_ledger({NOTIFIED_ANNOTATION: '{"a": "x", "b": 3}'}).notified == {"b": 3}
