"""Leader-election decisions: given the Lease on the server, when we saw it, now and who we are; and whether
a leader may still act after an attempt (`decide_term`)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from ramp.kube.lease import (
    LeaseAction,
    LeaseRecord,
    Outcome,
    decide_lease,
    decide_term,
    format_micro_time,
    lease_name,
    lease_namespace,
    lease_spec,
    parse_micro_time,
    record_from_lease,
    release_record,
)

T0 = datetime(2025, 3, 1, 12, 0, 0, tzinfo=UTC)
ME, OTHER = "host-a_1111", "host-b_2222"


def _at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def _decide(current: LeaseRecord | None, now: float, observed: float | None = 0.0):
    return decide_lease(
        current,
        identity=ME,
        now=_at(now),
        observed_at=None if observed is None else _at(observed),
        lease_duration=15,
    )


def test_no_lease_yet_creates_it_holding_it() -> None:
    decision = _decide(None, 0, observed=None)
    assert decision.action is LeaseAction.CREATE
    assert decision.record == LeaseRecord(ME, 15, _at(0), _at(0), 0)


def test_a_live_lease_of_another_holder_is_waited_for_until_it_expires() -> None:
    theirs = LeaseRecord(OTHER, 15, _at(-100), _at(-1), 2)
    decision = _decide(theirs, now=10, observed=0)
    assert decision.action is LeaseAction.WAIT
    assert decision.record is None
    assert decision.expires_in == pytest.approx(5.0)


def test_expiry_counts_from_when_we_observed_the_record_not_from_its_renew_time() -> None:
    # The holder's clock is an hour behind: its renewTime looks ancient, yet we saw it change just now.
    skewed = LeaseRecord(OTHER, 15, _at(-3600), _at(-3600), 0)
    assert _decide(skewed, now=1, observed=0).action is LeaseAction.WAIT


def test_an_expired_lease_is_acquired_and_the_transition_counted() -> None:
    theirs = LeaseRecord(OTHER, 15, _at(-100), _at(-1), 2)
    decision = _decide(theirs, now=15, observed=0)
    assert decision.action is LeaseAction.ACQUIRE
    assert decision.record == LeaseRecord(ME, 15, _at(15), _at(15), 3)


def test_a_released_lease_is_acquired_at_once() -> None:
    released = LeaseRecord("", 1, _at(0), _at(0), 4)
    decision = _decide(released, now=0.1, observed=0)
    assert decision.action is LeaseAction.ACQUIRE
    assert decision.record is not None
    assert decision.record.lease_transitions == 5


def test_our_own_lease_is_renewed_keeping_acquire_time_and_transitions() -> None:
    ours = LeaseRecord(ME, 15, _at(-50), _at(-2), 7)
    decision = _decide(ours, now=0, observed=-2)
    assert decision.action is LeaseAction.RENEW
    assert decision.record == LeaseRecord(ME, 15, _at(-50), _at(0), 7)


def test_the_holders_own_lease_duration_decides_expiry() -> None:
    short = LeaseRecord(OTHER, 5, _at(0), _at(0), 0)
    assert _decide(short, now=4.9, observed=0).action is LeaseAction.WAIT
    assert _decide(short, now=5, observed=0).action is LeaseAction.ACQUIRE


def test_release_leaves_no_holder_and_a_one_second_lease() -> None:
    ours = LeaseRecord(ME, 15, _at(-50), _at(-2), 7)
    assert release_record(ours, _at(0)) == LeaseRecord("", 1, _at(0), _at(0), 7)


@pytest.mark.parametrize(
    ("instance_id", "name"),
    [(None, "argo-rollouts-controller-lock"), ("", "argo-rollouts-controller-lock"),
     ("blue", "argo-rollouts-controller-lock-blue")],
)  # fmt: skip
def test_lease_name_follows_upstream(instance_id: str | None, name: str) -> None:
    assert lease_name(instance_id) == name


@pytest.mark.parametrize(
    ("pod_namespace", "sa_namespace", "expected"),
    [
        ("ops", "sa-ns", "ops"),
        (None, "sa-ns", "sa-ns"),
        ("", None, "argo-rollouts"),
        (None, None, "argo-rollouts"),
    ],
)
def test_lease_namespace_follows_upstream(pod_namespace, sa_namespace, expected: str) -> None:
    assert lease_namespace(pod_namespace, sa_namespace) == expected


def test_lease_spec_round_trips_in_client_go_wire_form() -> None:
    record = LeaseRecord(ME, 15, _at(0.5), _at(1.25), 3)
    spec = lease_spec(record)
    assert spec == {
        "holderIdentity": ME,
        "leaseDurationSeconds": 15,
        "leaseTransitions": 3,
        "acquireTime": "2025-03-01T12:00:00.500000Z",
        "renewTime": "2025-03-01T12:00:01.250000Z",
    }
    assert record_from_lease({"spec": spec}) == record


def test_an_empty_lease_reads_as_free() -> None:
    record = record_from_lease({"metadata": {"name": "x"}})
    assert record == LeaseRecord("", 0, None, None, 0)
    assert _decide(record, now=0).action is LeaseAction.ACQUIRE


def test_micro_time_parses_other_writers_forms() -> None:
    assert parse_micro_time("2025-03-01T12:00:00Z") == T0
    assert parse_micro_time("2025-03-01T13:00:00.000000+01:00") == T0
    assert format_micro_time(T0) == "2025-03-01T12:00:00.000000Z"
    assert parse_micro_time(None) is None


@pytest.mark.parametrize(
    ("outcome", "renewed_at", "started", "now", "leading", "counted_from"),
    [
        pytest.param(Outcome.HELD, 0.0, 5.0, 8.0, True, 5.0, id="a renewal counts from when it was sent"),
        pytest.param(Outcome.HELD, 0.0, 5.0, 14.9, True, 5.0, id="a slow answer still leads until send + 10s"),
        pytest.param(Outcome.HELD, 0.0, 5.0, 15.0, False, 5.0, id="an answer after send + 10s does not lead"),
        pytest.param(Outcome.HELD, None, 0.0, 9.9, True, 0.0, id="an acquire answered in time leads"),
        pytest.param(Outcome.HELD, None, 0.0, 11.0, False, 0.0, id="an acquire answered too late does not"),
        pytest.param(Outcome.FAILED, 0.0, 8.0, 9.9, True, 0.0, id="a failure keeps the term until its deadline"),
        pytest.param(Outcome.FAILED, 0.0, 9.0, 10.0, False, 0.0, id="at the deadline the term is over"),
        pytest.param(Outcome.FAILED, None, 0.0, 0.1, False, None, id="a failed acquire never leads"),
        pytest.param(Outcome.TAKEN, 0.0, 2.0, 2.1, False, 0.0, id="a lease taken by another ends the term"),
    ],
)
def test_decide_term(
    outcome: Outcome,
    renewed_at: float | None,
    started: float,
    now: float,
    leading: bool,
    counted_from: float | None,
) -> None:
    term = decide_term(outcome, renewed_at=renewed_at, request_started=started, now=now, renew_deadline=10.0)
    assert term.leading is leading
    assert term.renewed_at == counted_from


def test_an_older_request_answered_late_does_not_move_the_term_back() -> None:
    term = decide_term(Outcome.HELD, renewed_at=6.0, request_started=4.0, now=7.0, renew_deadline=10.0)
    assert term.renewed_at == 6.0
    assert term.deadline(10.0) == 16.0


def test_shard_leases_are_named_per_shard_count_and_instance() -> None:
    from ramp.kube.lease import member_lease_name, member_lease_prefix, shard_lease_name

    assert shard_lease_name(None, 0, 3) == "argo-rollouts-shard-0-of-3"
    assert shard_lease_name("blue", 2, 3) == "argo-rollouts-shard-2-of-3-blue"
    member = member_lease_name("blue", 3, "host_1234-uuid")
    assert member.startswith(member_lease_prefix("blue", 3))
    assert member == member_lease_name("blue", 3, "host_1234-uuid")
    assert member != member_lease_name("blue", 3, "host_5678-uuid")
    assert "_" not in member  # identities hold characters a Lease name may not have
