"""A local GitHub for `service.github`: a GitHub App's installation and the REST endpoints the service writes to.

`GitHubApp` (a `LocalHttpServer` responder) checks the App's JWT as GitHub does (RS256 signature with the app's
public key, `iss` = app ID, `exp` in the future and at most 10 minutes ahead, `iat` not in the future), issues
installation tokens (201 with `token`, `expires_at`), and with a live token serves commit statuses (the 1000
per SHA and context limit included), deployments and their statuses, pull requests of a commit and their
comments (create, list, edit), check runs and repository dispatches, answering errors in GitHub's words
(`{"message": ..., "documentation_url": ...}`, 422 `Validation Failed` with `errors`).
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import secrets
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from tests.backends import ReceivedRequest, Reply
from tests.backends.paging import _is_date_time, _json_body, _not_found

# --- GitHub App: installation tokens and commit statuses ------------------------------------------------------------

GITHUB_DOCS = "https://docs.github.com/rest"
STATUS_STATES = ("error", "failure", "pending", "success")


def _b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass
class GitHubApp:
    """A GitHub App installed on `repos` ("owner/name" -> known commit SHAs), serving under `prefix` (`/api/v3`
    for GitHub Enterprise Server, empty for api.github.com)."""

    app_id: int
    installation_id: int
    public_key: rsa.RSAPublicKey
    repos: Mapping[str, set[str]]
    prefix: str = ""
    status_limit: int = 1000
    token_lifetime: timedelta = timedelta(hours=1)
    statuses: list[tuple[str, str, dict[str, Any]]] = field(default_factory=list)
    check_runs: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    dispatches: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    deployments: list[dict[str, Any]] = field(default_factory=list)
    pulls: Mapping[str, Mapping[int, set[str]]] = field(default_factory=dict)
    comments: list[dict[str, Any]] = field(default_factory=list)
    deployment_statuses: list[tuple[int, dict[str, Any]]] = field(default_factory=list)
    tokens_issued: int = 0
    _tokens: dict[str, datetime] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __call__(self, request: ReceivedRequest) -> Reply:
        path = request.path.removeprefix(self.prefix) if self.prefix else request.path
        if request.method == "POST" and (match := re.fullmatch(r"/app/installations/(\d+)/access_tokens", path)):
            return self._access_token(request, int(match.group(1)))
        if request.method == "POST" and (match := re.fullmatch(r"/repos/([^/]+)/([^/]+)/statuses/([^/]+)", path)):
            return self._authorized(request, f"{match[1]}/{match[2]}") or self._status(
                request, f"{match[1]}/{match[2]}", match[3]
            )
        if request.method == "POST" and (match := re.fullmatch(r"/repos/([^/]+)/([^/]+)/check-runs", path)):
            return self._authorized(request, f"{match[1]}/{match[2]}") or self._check_run(
                request, f"{match[1]}/{match[2]}"
            )
        if request.method == "POST" and (match := re.fullmatch(r"/repos/([^/]+)/([^/]+)/dispatches", path)):
            return self._authorized(request, f"{match[1]}/{match[2]}") or self._dispatch(
                request, f"{match[1]}/{match[2]}"
            )
        if match := re.fullmatch(
            r"/repos/([^/]+)/([^/]+)/(commits/[^/]+/pulls|issues/(?:\d+|comments/\d+)(?:/comments)?)", path
        ):
            repo = f"{match[1]}/{match[2]}"
            return self._authorized(request, repo) or self._pulls_and_comments(request, repo, match[3])
        if match := re.fullmatch(r"/repos/([^/]+)/([^/]+)/deployments(?:/(\d+)/statuses)?", path):
            repo = f"{match[1]}/{match[2]}"
            if denied := self._authorized(request, repo):
                return denied
            if match[3]:
                return (
                    self._deployment_status(request, repo, int(match[3])) if request.method == "POST" else _not_found()
                )
            return self._deployments(request, repo)
        return self._error(404, "Not Found")

    def _pulls_and_comments(self, request: ReceivedRequest, repo: str, rest: str) -> Reply:
        parts = rest.split("/")
        if parts[0] == "commits" and request.method == "GET":
            numbers = sorted(n for n, shas in self.pulls.get(repo, {}).items() if parts[1] in shas)
            return Reply.json(json.dumps([{"number": n, "state": "open"} for n in numbers]))
        if parts[0] == "issues" and parts[1] == "comments" and request.method == "PATCH":
            found = [c for c in self.comments if c["repo"] == repo and c["id"] == int(parts[2])]
            body = _json_body(request)
            if not found:
                return self._error(404, "Not Found")
            if not isinstance(body, dict) or not body.get("body"):
                return self._invalid("IssueComment", "body wasn't supplied.", "body")
            found[0]["body"] = body["body"]
            found[0]["edits"] += 1
            return Reply.json(json.dumps({k: v for k, v in found[0].items() if k != "repo"}))
        if parts[0] == "issues" and parts[-1] == "comments":
            number = int(parts[1])
            if number not in self.pulls.get(repo, {}):
                return self._error(404, "Not Found")
            if request.method == "GET":
                page = [c for c in self.comments if c["repo"] == repo and c["issue"] == number]
                return Reply.json(json.dumps([{k: v for k, v in c.items() if k != "repo"} for c in page]))
            body = _json_body(request)
            if request.method != "POST" or not isinstance(body, dict) or not body.get("body"):
                return self._invalid("IssueComment", "body wasn't supplied.", "body")
            if len(body["body"]) > 65536:
                return self._invalid("IssueComment", "body is too long (maximum is 65536 characters)", "body")
            comment = {"id": 500 + len(self.comments), "repo": repo, "issue": number, "body": body["body"], "edits": 0}
            self.comments.append(comment)
            return Reply.json(json.dumps({k: v for k, v in comment.items() if k != "repo"}), 201)
        return _not_found()

    def _deployments(self, request: ReceivedRequest, repo: str) -> Reply:
        if request.method == "GET":
            found = [
                d
                for d in self.deployments
                if d["repo"] == repo
                and d["sha"] == request.query.get("ref", d["sha"])
                and d["environment"] == request.query.get("environment", d["environment"])
            ]
            return Reply.json(json.dumps([{k: v for k, v in d.items() if k != "repo"} for d in reversed(found)]))
        if request.method != "POST":
            return _not_found()
        body = _json_body(request)
        if not isinstance(body, dict) or not isinstance(body.get("ref"), str):
            return self._invalid("Deployment", "ref is required", "ref")
        if body["ref"] not in self.repos[repo]:
            return self._error(422, f"No ref found for: {body['ref']}")
        for name in ("auto_merge", "transient_environment"):
            if name in body and not isinstance(body[name], bool):
                return self._invalid("Deployment", f"{name} must be a boolean", name)
        deployment = {
            "id": 1000 + len(self.deployments),
            "repo": repo,
            "sha": body["ref"],
            "ref": body["ref"],
            "environment": body.get("environment", "production"),
            "request": body,
        }
        self.deployments.append(deployment)
        return Reply.json(json.dumps({k: v for k, v in deployment.items() if k != "repo"}), 201)

    def _deployment_status(self, request: ReceivedRequest, repo: str, deployment_id: int) -> Reply:
        if not any(d["id"] == deployment_id and d["repo"] == repo for d in self.deployments):
            return self._error(404, "Not Found")
        body = _json_body(request)
        states = ("error", "failure", "inactive", "in_progress", "queued", "pending", "success")
        if not isinstance(body, dict) or body.get("state") not in states:
            return self._invalid("DeploymentStatus", "state is not included in the list", "state")
        status = {"id": len(self.deployment_statuses) + 1, **body}
        self.deployment_statuses.append((deployment_id, status))
        return Reply.json(json.dumps(status), 201)

    def _authorized(self, request: ReceivedRequest, repo: str) -> Reply | None:
        """None when the request carries a live installation token for an installed repository."""
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        with self._lock:
            expires_at = self._tokens.get(token)
        if scheme.lower() not in ("token", "bearer") or expires_at is None or expires_at <= datetime.now(UTC):
            return self._error(401, "Bad credentials")
        if repo not in self.repos:
            return self._error(404, "Not Found")
        return None

    def _check_run(self, request: ReceivedRequest, repo: str) -> Reply:
        body = _json_body(request)
        if not isinstance(body, dict):
            return self._error(400, "Problems parsing JSON")
        if not body.get("name") or not isinstance(body.get("head_sha"), str):
            return self._invalid("CheckRun", "name and head_sha are required")
        if body["head_sha"] not in self.repos[repo]:
            return self._invalid("CheckRun", f"No commit found for SHA: {body['head_sha']}")
        status = body.get("status", "queued")
        if status not in ("queued", "in_progress", "completed"):
            return self._invalid("CheckRun", "status is not included in the list", "status")
        conclusions = ("action_required", "cancelled", "failure", "neutral", "success", "skipped", "timed_out")
        if status == "completed" and body.get("conclusion") not in conclusions:
            return self._invalid("CheckRun", "conclusion is required when status is completed", "conclusion")
        for name in ("started_at", "completed_at"):
            if name in body and not _is_date_time(body[name]):
                return self._invalid("CheckRun", f"{name} is not a valid ISO 8601 timestamp", name)
        output = body.get("output")
        if output is not None and (
            not isinstance(output, dict) or not output.get("title") or not output.get("summary")
        ):
            return self._invalid("CheckRun", "output needs a title and a summary", "output")
        run = {"id": len(self.check_runs) + 1, **body, "status": status}
        self.check_runs.append((repo, run))
        return Reply.json(json.dumps(run), 201)

    def _dispatch(self, request: ReceivedRequest, repo: str) -> Reply:
        body = _json_body(request)
        if not isinstance(body, dict) or not isinstance(body.get("event_type"), str) or not body["event_type"]:
            return self._invalid("RepositoryDispatch", "event_type is required", "event_type")
        if "client_payload" in body and not isinstance(body["client_payload"], dict):
            return self._error(422, "Invalid request.\n\nFor 'properties/client_payload', is not an object.")
        self.dispatches.append((repo, body))
        return Reply(204)

    def revoke_tokens(self) -> None:
        with self._lock:
            self._tokens.clear()

    def _access_token(self, request: ReceivedRequest, installation_id: int) -> Reply:
        scheme, _, jwt = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer":
            return self._error(401, "A JSON web token could not be decoded")
        problem = self._jwt_problem(jwt)
        if problem:
            return self._error(401, problem)
        if installation_id != self.installation_id:
            return self._error(404, "Not Found")
        token = "ghs_" + secrets.token_urlsafe(27)
        expires_at = datetime.now(UTC).replace(microsecond=0) + self.token_lifetime
        with self._lock:
            self._tokens[token] = expires_at
            self.tokens_issued += 1
        body = {
            "token": token,
            "expires_at": expires_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "permissions": {"statuses": "write", "metadata": "read"},
            "repository_selection": "selected",
        }
        return Reply.json(json.dumps(body), 201)

    def _jwt_problem(self, jwt: str) -> str | None:
        parts = jwt.split(".")
        if len(parts) != 3:
            return "A JSON web token could not be decoded"
        try:
            header = json.loads(_b64url_decode(parts[0]))
            claims = json.loads(_b64url_decode(parts[1]))
            signature = _b64url_decode(parts[2])
        except (ValueError, binascii.Error):
            return "A JSON web token could not be decoded"
        if not isinstance(header, dict) or header.get("alg") != "RS256" or not isinstance(claims, dict):
            return "A JSON web token could not be decoded"
        try:
            self.public_key.verify(signature, f"{parts[0]}.{parts[1]}".encode(), padding.PKCS1v15(), hashes.SHA256())
        except InvalidSignature:
            return "A JSON web token could not be decoded"
        if str(claims.get("iss")) != str(self.app_id):
            return "Integration not found"
        now = time.time()
        exp, iat = claims.get("exp"), claims.get("iat")
        if not isinstance(exp, int) or exp <= now:
            return (
                "'Expiration time' claim ('exp') must be a numeric value representing the future time at which the "
                "assertion expires"
            )
        if exp > now + 600 + 30:
            return "'Expiration time' claim ('exp') is too far in the future"
        if not isinstance(iat, int) or iat > now + 30:
            return "'Issued at' claim ('iat') must be an Integer representing the time that the assertion was issued"
        return None

    def _status(self, request: ReceivedRequest, repo: str, sha: str) -> Reply:
        body = _json_body(request)
        if not isinstance(body, dict):
            return self._error(400, "Problems parsing JSON")
        if sha not in self.repos[repo]:
            return self._invalid("Status", f"No commit found for SHA: {sha}")
        if body.get("state") not in STATUS_STATES:
            return self._invalid("Status", "state is not included in the list", "state")
        context = body.get("context") or "default"
        same = [s for r, h, s in self.statuses if r == repo and h == sha and s["context"] == context]
        if len(same) >= self.status_limit:
            return self._invalid("Status", "This SHA and context has reached the maximum number of statuses.")
        status = {
            "id": len(self.statuses) + 1,
            "state": body["state"],
            "description": body.get("description"),
            "target_url": body.get("target_url"),
            "context": context,
        }
        self.statuses.append((repo, sha, status))
        return Reply.json(json.dumps(status), 201)

    @staticmethod
    def _error(status: int, message: str) -> Reply:
        return Reply.json(
            json.dumps({"message": message, "documentation_url": GITHUB_DOCS, "status": str(status)}), status
        )

    @staticmethod
    def _invalid(resource: str, message: str, field_name: str | None = None) -> Reply:
        error: dict[str, str] = {"resource": resource, "code": "custom", "message": message}
        if field_name:
            error["field"] = field_name
        body = {"message": "Validation Failed", "errors": [error], "documentation_url": GITHUB_DOCS, "status": "422"}
        return Reply.json(json.dumps(body), 422)
