"""The dashboard's access rules: reads and actions against the token, and what the audit trail says."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from ramp.dashboard.auth import (
    ACTION,
    READ,
    AuditLog,
    AuditRecord,
    StreamTickets,
    check_token,
    describe_caller,
    escape_for_log,
    fingerprint,
    generate_token,
    is_allowed,
    read_presented_token,
)

TOKEN = "s3cret-token"


@pytest.mark.parametrize(
    ("kind", "presented", "insecure_read_only", "allowed"),
    [
        (ACTION, TOKEN, False, True),
        (ACTION, None, False, False),
        (ACTION, "wrong", False, False),
        (ACTION, None, True, False),
        (ACTION, "wrong", True, False),
        (READ, TOKEN, False, True),
        (READ, None, False, False),
        (READ, None, True, True),
        (READ, "", False, False),
    ],
)
def test_actions_always_need_the_token_and_reads_unless_insecure_read_only(
    kind: str, presented: str | None, insecure_read_only: bool, allowed: bool
) -> None:
    assert is_allowed(kind, presented, TOKEN, insecure_read_only=insecure_read_only) is allowed


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"authorization": f"Bearer {TOKEN}"}, TOKEN),
        ({"authorization": f"bearer  {TOKEN} "}, TOKEN),
        ({"authorization": f"Basic {TOKEN}"}, None),
        ({}, None),
    ],
)
def test_the_token_comes_from_the_bearer_header_only(headers: dict[str, str], expected: str | None) -> None:
    assert read_presented_token(headers) == expected


def test_generated_tokens_are_long_and_different() -> None:
    first, second = generate_token(), generate_token()
    assert first != second
    assert len(first) >= 32


def test_the_caller_is_named_without_revealing_the_token() -> None:
    who = describe_caller("127.0.0.1", TOKEN, "alice")
    assert who.startswith("alice@127.0.0.1 (tok:")
    assert TOKEN not in who
    assert describe_caller("10.0.0.1", None, None) == "10.0.0.1 (anonymous)"
    assert fingerprint(TOKEN) == fingerprint(TOKEN) != fingerprint("other")


def test_the_audit_log_keeps_the_newest_actions_first() -> None:
    audit = AuditLog(kept=2)
    when = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    for action in ("promote", "abort", "retry"):
        audit.record(AuditRecord(when, "me", action, "ns", "web", "", "ok"))
    assert [r.action for r in audit.newest()] == ["retry", "abort"]
    assert audit.newest()[0].to_json()["when"] == "2026-01-02T03:04:05Z"


def test_a_user_given_token_needs_32_characters_and_no_spaces() -> None:
    assert check_token(generate_token()) is None
    assert check_token("x" * 32) is None
    problem = check_token("x" * 31)
    assert problem is not None and "at least 32 characters" in problem and "has 31" in problem
    assert check_token("x" * 30 + " \n") is not None


def test_a_ticket_opens_once_and_only_while_fresh() -> None:
    now = [0.0]
    tickets = StreamTickets(lifetime=30, clock=lambda: now[0])
    first, second = tickets.issue(), tickets.issue()
    assert first != second
    assert tickets.redeem(first) is True
    assert tickets.redeem(first) is False
    now[0] = 31
    assert tickets.redeem(second) is False
    assert tickets.redeem(None) is False and tickets.redeem("made-up") is False


def test_outstanding_tickets_are_bounded() -> None:
    tickets = StreamTickets(kept=3)
    issued = [tickets.issue() for _ in range(10)]
    assert len(tickets) == 3
    assert not tickets.redeem(issued[0])
    assert tickets.redeem(issued[-1])


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("plain text", "plain text"),
        ("a\nb\rc\td", "a\\nb\\rc\\td"),
        ("\x1b[2J\x00\x7f", "\\x1b[2J\\x00\\x7f"),
        ("line\u2028sep\u0085", "line\\u2028sep\\x85"),
        ("back\\slash", "back\\\\slash"),
        ("café ✓", "café ✓"),
    ],
)
def test_log_fields_are_escaped_onto_one_line(text: str, expected: str) -> None:
    assert escape_for_log(text) == expected


def test_long_log_fields_are_cut_and_say_so() -> None:
    assert escape_for_log("x" * 600) == "x" * 512 + "…(cut)"


def test_an_audit_record_is_one_line_in_the_log() -> None:
    when = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    record = AuditRecord(when, "eve\nforged", "promote", "ns", "web", '{"x": "\\n"}', "failed: a\nb")
    line = record.to_log_line()
    assert "\n" not in line
    assert line == (
        'dashboard action promote ns/web ({"x": "\\\\n"}) by eve\\nforged at 2026-01-02T03:04:05Z: failed: a\\nb'
    )
