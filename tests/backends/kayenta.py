"""A local stand-in for Spinnaker Kayenta's canary API, on a free port of 127.0.0.1.

Answers `GET /canaryConfig` with two configs ("checkout-canary" has id "cfg-1"), `POST /canary/cfg-1` with the
execution id "exec-7", and `GET /canary/exec-7` with an incomplete judgement until the test sets `score`, then a
complete one with that score. Every request is kept (`server.requests`). Used by tests/unit/providers and tests/e2e.
"""

from __future__ import annotations

import json

from tests.backends import LocalHttpServer, ReceivedRequest, Reply

CONFIGS = [
    {"id": "cfg-other", "name": "other-config", "applications": ["shop"]},
    {"id": "cfg-1", "name": "checkout-canary", "applications": ["shop"]},
]


class KayentaStandIn:
    """Kayenta's canary API: config lookup, starting a judgement, and its result once `score` is set."""

    def __init__(self) -> None:
        self.score: float | None = None
        self.completed_without_score = False
        self.server = LocalHttpServer(self.answer)

    def answer(self, request: ReceivedRequest) -> Reply:
        if request.method == "GET" and request.path == "/canaryConfig":
            return Reply.json(json.dumps(CONFIGS))
        if request.method == "POST" and request.path == "/canary/cfg-1":
            return Reply.json('{"canaryExecutionId": "exec-7"}')
        if request.method == "GET" and request.path == "/canary/exec-7":
            if self.completed_without_score:
                return Reply.json('{"complete": true, "result": {}}')
            if self.score is None:
                return Reply.json('{"complete": false, "status": "running"}')
            result = {"judgeResult": {"score": {"score": self.score, "classification": "Pass"}}}
            return Reply.json(json.dumps({"complete": True, "status": "succeeded", "result": result}))
        return Reply.json('{"error": "not found"}', 404)

    def start(self) -> KayentaStandIn:
        self.server.start()
        return self

    def stop(self) -> None:
        self.server.stop()
