"""Rollout conditions: upstream's set/remove rules, the Progressing special case, and the progress deadline."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from ramp.core import conditions as c

T0 = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)
T1 = T0 + timedelta(minutes=5)


def _progressing(status: str, reason: str, message: str, when: datetime = T0) -> dict[str, str]:
    return c.new_condition(c.PROGRESSING, status, reason, message, when)


def test_new_condition_is_stamped_in_kubernetes_time_format():
    condition = c.new_condition(c.AVAILABLE, c.TRUE, c.AVAILABLE_REASON, c.AVAILABLE_MESSAGE, T0)
    assert condition == {
        "type": "Available",
        "status": "True",
        "reason": "AvailableReason",
        "message": "Rollout has minimum availability",
        "lastUpdateTime": "2024-05-01T12:00:00Z",
        "lastTransitionTime": "2024-05-01T12:00:00Z",
    }


def test_setting_a_new_type_appends_it():
    available = c.new_condition(c.AVAILABLE, c.TRUE, c.AVAILABLE_REASON, c.AVAILABLE_MESSAGE, T0)
    result = c.set_condition([available], {"type": c.PAUSED, "status": c.TRUE, "reason": "RolloutPaused"}, T1)
    assert [condition["type"] for condition in result] == ["Available", "Paused"]
    assert result[1]["lastUpdateTime"] == result[1]["lastTransitionTime"] == "2024-05-01T12:05:00Z"


def test_same_status_and_reason_changes_nothing_not_even_the_message():
    existing = _progressing(c.TRUE, c.REPLICA_SET_UPDATED_REASON, 'ReplicaSet "web-1" is progressing.')
    new = _progressing(c.TRUE, c.REPLICA_SET_UPDATED_REASON, 'ReplicaSet "web-2" is progressing.', T1)
    assert c.set_condition([existing], new, T1) == [existing]


def test_same_status_new_reason_keeps_the_transition_time():
    existing = _progressing(c.TRUE, c.REPLICA_SET_UPDATED_REASON, "progressing")
    new = _progressing(c.TRUE, c.NEW_RS_AVAILABLE_REASON, "done", T1)
    [result] = c.set_condition([existing], new, T1)
    assert result["reason"] == "NewReplicaSetAvailable"
    assert result["lastTransitionTime"] == "2024-05-01T12:00:00Z"
    assert result["lastUpdateTime"] == "2024-05-01T12:05:00Z"


def test_status_change_moves_both_times_and_the_condition_to_the_end():
    progressing = _progressing(c.TRUE, c.REPLICA_SET_UPDATED_REASON, "progressing")
    available = c.new_condition(c.AVAILABLE, c.TRUE, c.AVAILABLE_REASON, c.AVAILABLE_MESSAGE, T0)
    aborted = _progressing(c.FALSE, c.ROLLOUT_ABORTED_REASON, "Rollout aborted update to revision 2", T1)
    result = c.set_condition([progressing, available], aborted, T1)
    assert [condition["type"] for condition in result] == ["Available", "Progressing"]
    assert result[1]["lastTransitionTime"] == result[1]["lastUpdateTime"] == "2024-05-01T12:05:00Z"


def test_set_condition_does_not_modify_its_input():
    existing = [_progressing(c.TRUE, c.REPLICA_SET_UPDATED_REASON, "progressing")]
    snapshot = [dict(condition) for condition in existing]
    c.set_condition(existing, _progressing(c.FALSE, c.TIMED_OUT_REASON, "late", T1), T1)
    assert existing == snapshot


def test_progress_refreshes_the_update_time_even_with_the_same_reason():
    existing = _progressing(c.TRUE, c.REPLICA_SET_UPDATED_REASON, 'ReplicaSet "web-1" is progressing.')
    new = {
        "type": c.PROGRESSING,
        "status": c.TRUE,
        "reason": c.REPLICA_SET_UPDATED_REASON,
        "message": 'ReplicaSet "web-2" is progressing.',
    }
    [result] = c.set_progress_condition([existing], new, T1)
    assert result["message"] == 'ReplicaSet "web-2" is progressing.'
    assert result["lastUpdateTime"] == "2024-05-01T12:05:00Z"
    assert result["lastTransitionTime"] == "2024-05-01T12:00:00Z"


def test_progress_after_a_non_true_status_is_a_transition():
    paused = _progressing(c.UNKNOWN, c.ROLLOUT_PAUSED_REASON, c.ROLLOUT_PAUSED_MESSAGE)
    new = {"type": c.PROGRESSING, "status": c.TRUE, "reason": c.REPLICA_SET_UPDATED_REASON, "message": "m"}
    [result] = c.set_progress_condition([paused], new, T1)
    assert result["lastTransitionTime"] == "2024-05-01T12:05:00Z"


def test_get_and_remove_condition():
    available = c.new_condition(c.AVAILABLE, c.TRUE, c.AVAILABLE_REASON, c.AVAILABLE_MESSAGE, T0)
    paused = c.new_condition(c.PAUSED, c.TRUE, c.ROLLOUT_PAUSED_REASON, c.ROLLOUT_PAUSED_MESSAGE, T0)
    assert c.get_condition([available, paused], c.PAUSED) == paused
    assert c.get_condition([available], c.PAUSED) is None
    assert c.get_condition(None, c.PAUSED) is None
    assert c.remove_condition([available, paused], c.AVAILABLE) == [paused]
    assert c.remove_condition(None, c.AVAILABLE) == []


@pytest.mark.parametrize(
    ("condition", "now", "expected"),
    [
        pytest.param(None, T1, False, id="no-progressing-condition"),
        pytest.param(
            _progressing(c.TRUE, c.REPLICA_SET_UPDATED_REASON, "m"),
            T0 + timedelta(seconds=600),
            False,
            id="exactly-at-the-deadline-is-not-late",
        ),
        pytest.param(
            _progressing(c.TRUE, c.REPLICA_SET_UPDATED_REASON, "m"),
            T0 + timedelta(seconds=601),
            True,
            id="past-the-deadline",
        ),
        pytest.param(_progressing(c.FALSE, c.TIMED_OUT_REASON, "m"), T0, True, id="already-timed-out"),
        pytest.param(
            _progressing(c.FALSE, c.ROLLOUT_ABORTED_REASON, "m"),
            T0 + timedelta(days=1),
            False,
            id="aborted-never-times-out",
        ),
        pytest.param(
            _progressing(c.UNKNOWN, c.ROLLOUT_PAUSED_REASON, "m"),
            T0 + timedelta(days=1),
            False,
            id="paused-never-times-out",
        ),
        pytest.param(
            _progressing(c.UNKNOWN, c.ROLLOUT_RESUMED_REASON, "m"),
            T0 + timedelta(seconds=601),
            True,
            id="clock-runs-again-after-resume",
        ),
        pytest.param(
            _progressing(c.TRUE, c.NEW_RS_AVAILABLE_REASON, "m"),
            T0 + timedelta(days=1),
            False,
            id="a-completed-update-never-times-out",
        ),
    ],
)
def test_is_progress_deadline_exceeded(condition, now, expected):
    assert c.is_progress_deadline_exceeded(condition, 600, now) is expected


def test_messages_render_like_upstream():
    assert (
        c.REPLICA_SET_PROGRESSING_MESSAGE.format(name="web-5d7f8b9c4") == 'ReplicaSet "web-5d7f8b9c4" is progressing.'
    )
    assert c.NEW_REPLICA_SET_MESSAGE.format(name="web-1") == 'Created new replica set "web-1"'
    assert c.REPLICA_SET_COMPLETED_MESSAGE.format(name="web-1") == 'ReplicaSet "web-1" has successfully progressed.'
    assert c.REPLICA_SET_TIMED_OUT_MESSAGE.format(name="web-1") == 'ReplicaSet "web-1" has timed out progressing.'
    assert c.ROLLOUT_ABORTED_MESSAGE.format(revision=2) == "Rollout aborted update to revision 2"
    assert (
        c.ROLLOUT_COMPLETED_MESSAGE.format(revision=2, pod_hash="abc", detail="d")
        == "Rollout completed update to revision 2 (abc): d"
    )


def test_parse_time_reads_rfc3339_and_rejects_the_rest():
    assert c.parse_time("2024-05-01T12:00:00Z") == T0
    assert c.parse_time("2024-05-01T14:00:00+02:00") == T0
    assert c.parse_time("2024-05-01T12:00:00") is None
    assert c.parse_time("") is None
    assert c.parse_time(None) is None
