"""The dashboard's access rules: reads and actions against the token, and what the audit trail says."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from ramp.dashboard.auth import (
    ACTION,
    READ,
    AuditLog,
    AuditRecord,
    describe_caller,
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
    ("headers", "query", "expected"),
    [
        ({"authorization": f"Bearer {TOKEN}"}, {}, TOKEN),
        ({"authorization": f"bearer  {TOKEN} "}, {}, TOKEN),
        ({"authorization": f"Basic {TOKEN}"}, {}, None),
        ({}, {"token": TOKEN}, TOKEN),
        ({"authorization": "Bearer header"}, {"token": "query"}, "header"),
        ({}, {}, None),
    ],
)
def test_the_token_comes_from_the_bearer_header_or_the_query(
    headers: dict[str, str], query: dict[str, str], expected: str | None
) -> None:
    assert read_presented_token(headers, query) == expected


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
