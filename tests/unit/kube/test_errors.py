"""What the client makes of an API server's error answers."""

from __future__ import annotations

import json

from ramp.kube.errors import ApiError


def _status(code: int, reason: str, **extra: object) -> bytes:
    return json.dumps({"kind": "Status", "code": code, "reason": reason, "message": "m", **extra}).encode()


def test_status_reasons_map_to_predicates() -> None:
    assert ApiError.from_response(404, _status(404, "NotFound")).is_not_found
    assert ApiError.from_response(409, _status(409, "Conflict")).is_conflict
    exists = ApiError.from_response(409, _status(409, "AlreadyExists"))
    assert exists.is_already_exists
    assert not exists.is_conflict
    assert ApiError.from_status({"code": 410, "reason": "Expired"}).is_gone


def test_retry_after_is_read_from_the_status_details() -> None:
    busy = ApiError.from_response(429, _status(429, "TooManyRequests", details={"retryAfterSeconds": 1}))
    assert busy.retry_after == 1.0
    assert busy.is_retryable
    assert ApiError.from_response(500, b"").retry_after is None


def test_a_non_json_body_from_a_proxy_still_gives_a_useful_error() -> None:
    error = ApiError.from_response(502, b"<html>Bad Gateway</html>")
    assert error.reason == "Error"
    assert "Bad Gateway" in str(error)
