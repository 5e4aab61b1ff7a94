"""`service.github`: commit statuses, deployments, PR comments, check runs and dispatches, as a GitHub App.

Options (upstream's): `appID`, `installationID` (numbers, or strings of digits), `privateKey` (the app's PEM key,
usually a `$secret` reference), `enterpriseBaseURL` (GitHub Enterprise Server's API root, e.g.
`https://git.example.com/api/v3`; `/api/v3` is added when missing, as GitHub's Go client does, and the token
exchange uses the same root), `insecureSkipVerify`.

Authentication is GitHub's App flow (`ramp.notifications.services.github_app`): a JWT signed RS256 with the
private key buys an installation token, kept until a minute before it expires.

The template's `github` block: `repoURLPath` (the repository URL: https, `git@host:org/repo` or ssh) and
`revisionPath` (the commit SHA) are required: upstream's defaults read an Argo CD Application
(`.app.spec.source.repoURL`, `.app.status.operationState.syncResult.revision`), which a Rollout does not have.
Then, in upstream's order, each one given:
- `status: {state, label, targetURL}` -> `POST /repos/{o}/{r}/statuses/{sha}` (label is the context; the
  description is the message cut to GitHub's 140 characters). As upstream, GitHub's limit of 1000 statuses per
  SHA and context is not a failure: the send counts as done and a warning is logged; any other 422 is a failure.
- `deployment: {state, environment, environmentURL, logURL, requiredContexts, autoMerge, transientEnvironment,
  reference}` -> a status on the first deployment of the revision to the environment, created (ref = reference
  or the revision; autoMerge defaults to true) when there is none, as upstream.
- `pullRequestComment: {content, commentTag}` -> a comment on each pull request of the revision; with a tag, the
  comment carrying `<!-- argocd-notifications <tag> -->` (upstream's marker, so its comments are found) is edited
  instead of a new one being added. Content is cut to GitHub's 65536 characters.
- `checkRun: {name, details_url, status, conclusion, started_at, completed_at, output: {title, summary, text}}`
  -> `POST /repos/{o}/{r}/check-runs` on the revision (a conclusion alone means status `completed`, as upstream).
- `repositoryDispatch: {event_type, client_payload}` (the payload a JSON object) -> `POST /repos/{o}/{r}/dispatches`.
A template that asks for anything else is refused with a named error, before anything is sent.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import quote, urlsplit

import httpx

from ramp.notifications.services.base import Notification, SendError, Service, ServiceContext, register
from ramp.notifications.services.github_app import HEADERS, AppCredentials, InstallationTokens, private_key_of
from ramp.notifications.services.paging import Options, TemplateFields, api_error, request

log = logging.getLogger(__name__)

GITHUB_API = "https://api.github.com"
FIELDS = ("repoURLPath", "revisionPath", "status", "deployment", "pullRequestComment", "checkRun", "repositoryDispatch")
COMMENT_LIMIT = 65536
COMMENT_TAG = "<!-- argocd-notifications {} -->"
DEPLOYMENT_FIELDS = (
    "state",
    "environment",
    "environmentURL",
    "logURL",
    "requiredContexts",
    "autoMerge",
    "transientEnvironment",
    "reference",
)
STATUS_FIELDS = ("state", "label", "targetURL")
CHECK_RUN_FIELDS = ("name", "details_url", "status", "conclusion", "started_at", "completed_at", "output")
EXTERNAL_ID = "ramp-notifications"
DESCRIPTION_LIMIT = 140
STATUS_LIMIT_TEXT = "maximum number of statuses"
_SCP_LIKE = re.compile(r"^(?:[^@/:]+@)?[^/:]+:(?P<path>.+)$")


@dataclass(frozen=True)
class GitHubCall:
    """One request to GitHub: `<api>/repos/{owner}/{repo}/<path>` (with `body` unless a GET), answered `expect`."""

    what: str
    path: str
    body: Mapping[str, Any]
    expect: int


@dataclass(frozen=True)
class DeploymentPlan:
    """A deployment status on the deployment of `ref` to `environment`, the deployment created when none exists."""

    repo_path: str
    revision: str
    environment: str
    create: Mapping[str, Any]
    status: Mapping[str, Any]


@dataclass(frozen=True)
class CommentPlan:
    """A comment on each pull request of `revision`; with a `tag`, the comment carrying it is edited instead."""

    repo_path: str
    revision: str
    body: str
    tag: str


@dataclass
class GitHubService:
    name: str
    label: str
    api: str
    tokens: InstallationTokens
    http: httpx.AsyncClient

    async def send(self, notification: Notification, recipient: str) -> None:
        if recipient:
            raise SendError(
                f"{self.label}: the github service takes no recipient (the template's github.repoURLPath names the "
                f'repository); subscribe with an empty value: notifications.argoproj.io/subscribe.<trigger>.github: ""'
            )
        calls = calls_for(self.label, notification)  # every refusal before anything is sent
        for call in calls:
            if isinstance(call, DeploymentPlan):
                await self._deploy(call)
            elif isinstance(call, CommentPlan):
                await self._comment(call)
            else:
                await self._write(call)

    async def _deploy(self, plan: DeploymentPlan) -> None:
        """Upstream's way: the first deployment of the revision to the environment, else a new one; then its status."""
        query = {"ref": plan.revision, **({"environment": plan.environment} if plan.environment else {})}
        listing = GitHubCall("deployments", f"{plan.repo_path}/deployments", {}, 200)
        found = self._json_of(await self._write(listing, method="GET", params=query))
        if not isinstance(found, list) or not all(isinstance(item, dict) and "id" in item for item in found):
            raise SendError(f"{self.label}: GitHub's list of deployments is not a list of deployments")
        if not found:
            created = await self._write(GitHubCall("deployment", f"{plan.repo_path}/deployments", plan.create, 201))
            found = [self._json_of(created)]
            if not isinstance(found[0], dict) or "id" not in found[0]:
                raise SendError(f"{self.label}: GitHub created a deployment but its answer has no id")
        path = f"{plan.repo_path}/deployments/{quote(str(found[0]['id']))}/statuses"
        await self._write(GitHubCall("deployment status", path, plan.status, 201))

    async def _comment(self, plan: CommentPlan) -> None:
        """Upstream's way: every pull request that has the revision; the tagged comment edited, else one added."""
        listing = GitHubCall("pull requests", f"{plan.repo_path}/commits/{quote(plan.revision)}/pulls", {}, 200)
        pulls = self._json_of(await self._write(listing, method="GET"))
        if not isinstance(pulls, list) or not all(isinstance(pr, dict) and "number" in pr for pr in pulls):
            raise SendError(f"{self.label}: GitHub's list of pull requests is not a list of pull requests")
        body = {"body": plan.body}
        for pull in pulls:
            issue = f"{plan.repo_path}/issues/{quote(str(pull['number']))}/comments"
            if plan.tag:
                comments = self._json_of(
                    await self._write(GitHubCall("comments", issue, {}, 200), method="GET", params={"per_page": "100"})
                )
                if not isinstance(comments, list):
                    raise SendError(f"{self.label}: GitHub's list of comments is not a list")
                marker = COMMENT_TAG.format(plan.tag)
                tagged = [c for c in comments if isinstance(c, dict) and marker in str(c.get("body", ""))]
                if tagged and "id" in tagged[0]:
                    edit = GitHubCall(
                        "comment", f"{plan.repo_path}/issues/comments/{quote(str(tagged[0]['id']))}", body, 200
                    )
                    await self._write(edit, method="PATCH")
                    continue
            await self._write(GitHubCall("comment", issue, body, 201))

    def _json_of(self, response: httpx.Response) -> Any:
        try:
            return response.json()
        except ValueError:
            raise SendError(f"{self.label}: GitHub answered HTTP {response.status_code} with no JSON") from None

    async def _write(
        self, call: GitHubCall, *, method: str = "POST", params: Mapping[str, str] | None = None
    ) -> httpx.Response:
        token = await self.tokens.get()
        headers = {"Authorization": f"token {token}", **HEADERS}
        url = f"{self.api}/repos/{call.path}"
        body = call.body if method != "GET" else None
        response = await request(
            self.http, method, url, label=self.label, body=body, params=params, headers=headers, secrets=[token]
        )
        if response.status_code == call.expect:
            return response
        if response.status_code == httpx.codes.UNAUTHORIZED:
            self.tokens.forget()  # revoked or expired early: the next send buys a new one
        if (
            call.what == "commit status"
            and response.status_code == httpx.codes.UNPROCESSABLE_ENTITY
            and STATUS_LIMIT_TEXT in response.text
        ):
            log.warning(
                "%s: GitHub keeps no more statuses for %s and context %r; the status is left as it is",
                self.label,
                call.path,
                call.body.get("context", "default"),
            )
            return response
        raise api_error(self.label, f"GitHub ({call.what})", response, [token])


def calls_for(label: str, notification: Notification) -> list[GitHubCall | DeploymentPlan | CommentPlan]:
    """The writes a notification makes (status, deployment, PR comment, check run, dispatch: upstream's order), or
    a `SendError` naming what the template lacks."""
    fields = TemplateFields(label, "github", notification.of("github"), FIELDS)
    deployment, comment = fields.mapping("deployment"), fields.mapping("pullRequestComment")
    status, check_run, dispatch = (
        fields.mapping("status"),
        fields.mapping("checkRun"),
        fields.mapping("repositoryDispatch"),
    )
    if not (status or deployment or comment or check_run or dispatch):
        raise fields.error(
            "status", "is missing; give github.status, deployment, pullRequestComment, checkRun or repositoryDispatch"
        )
    owner, repo = repository_of(fields.text("repoURLPath").strip(), fields)
    base = f"{quote(owner)}/{quote(repo)}"
    sha = fields.text("revisionPath").strip()
    if (status or deployment or comment or check_run) and (not sha or sha == "<no value>"):
        raise fields.error("revisionPath", "is missing or empty; set it to the commit, e.g. a field of the rollout")
    calls: list[GitHubCall | DeploymentPlan | CommentPlan] = []
    if status:
        calls.append(
            GitHubCall("commit status", f"{base}/statuses/{quote(sha)}", status_body(label, status, notification), 201)
        )
    if deployment:
        calls.append(deployment_plan(label, deployment, base, sha, notification))
    if comment:
        comment_fields = TemplateFields(label, "github.pullRequestComment", comment, ("content", "commentTag"))
        tag = comment_fields.text("commentTag").strip()
        marker = f"\n{COMMENT_TAG.format(tag)}" if tag else ""
        content = truncate(comment_fields.text("content"), COMMENT_LIMIT - len(marker)) + marker
        calls.append(CommentPlan(repo_path=base, revision=sha, body=content, tag=tag))
    if check_run:
        calls.append(GitHubCall("check run", f"{base}/check-runs", check_run_body(label, check_run, sha), 201))
    if dispatch:
        calls.append(GitHubCall("repository dispatch", f"{base}/dispatches", dispatch_body(label, dispatch), 204))
    return calls


def status_body(label: str, status: Mapping[str, Any], notification: Notification) -> dict[str, str]:
    fields = TemplateFields(label, "github.status", status, STATUS_FIELDS)
    body = {"state": fields.text("state").strip()}
    if description := truncate(notification.message.strip(), DESCRIPTION_LIMIT):
        body["description"] = description
    if context := fields.text("label").strip():
        body["context"] = context
    if target_url := fields.text("targetURL").strip():
        body["target_url"] = target_url
    return body


def deployment_plan(
    label: str, deployment: Mapping[str, Any], repo_path: str, sha: str, notification: Notification
) -> DeploymentPlan:
    """Upstream's deployment: ref = `reference` or the revision, autoMerge true and transientEnvironment false
    unless the template says otherwise, the status's description the message cut to 140 characters."""
    fields = TemplateFields(label, "github.deployment", deployment, DEPLOYMENT_FIELDS)
    environment = fields.text("environment").strip()
    create: dict[str, Any] = {
        "ref": fields.text("reference").strip() or sha,
        "auto_merge": _flag(fields, "autoMerge", default=True),
        "transient_environment": _flag(fields, "transientEnvironment", default=False),
    }
    if environment:
        create["environment"] = environment
    if fields.has("requiredContexts"):
        create["required_contexts"] = fields.text_list("requiredContexts")
    status: dict[str, Any] = {"state": fields.text("state").strip()}
    for key, name in (("environment", "environment"), ("environmentURL", "environment_url"), ("logURL", "log_url")):
        if value := fields.text(key).strip():
            status[name] = value
    if description := truncate(notification.message.strip(), DESCRIPTION_LIMIT):
        status["description"] = description
    return DeploymentPlan(repo_path=repo_path, revision=sha, environment=environment, create=create, status=status)


def _flag(fields: TemplateFields, key: str, *, default: bool) -> bool:
    value = fields.text(key).strip().lower()
    if value not in ("", "true", "false"):
        raise fields.error(key, "must be true or false")
    return default if not value else value == "true"


def check_run_body(label: str, check_run: Mapping[str, Any], sha: str) -> dict[str, Any]:
    """A check run as upstream makes it: status `completed` when only a conclusion is given, times in RFC 3339."""
    fields = TemplateFields(label, "github.checkRun", check_run, CHECK_RUN_FIELDS)
    status, conclusion = fields.text("status").strip(), fields.text("conclusion").strip()
    if conclusion and not status:
        status = "completed"
    completed_at = fields.text("completed_at").strip()
    if (status == "completed" or completed_at) and not conclusion:
        raise fields.error("conclusion", "is required when status is completed or completed_at is set")
    body: dict[str, Any] = {"name": fields.text("name").strip(), "head_sha": sha, "external_id": EXTERNAL_ID}
    for key, value in (("status", status), ("conclusion", conclusion), ("details_url", fields.text("details_url"))):
        if value.strip():
            body[key] = value.strip()
    for key in ("started_at", "completed_at"):
        if value := fields.text(key).strip():
            try:
                datetime.fromisoformat(value)
            except ValueError:
                raise fields.error(key, "must be an RFC 3339 time, e.g. 2024-01-01T12:00:00Z") from None
            body[key] = value
    if output := fields.mapping("output"):
        output_fields = TemplateFields(label, "github.checkRun.output", output, ("title", "summary", "text"))
        body["output"] = {key: output_fields.text(key) for key in ("title", "summary", "text")}
    return body


def dispatch_body(label: str, dispatch: Mapping[str, Any]) -> dict[str, Any]:
    fields = TemplateFields(label, "github.repositoryDispatch", dispatch, ("event_type", "client_payload"))
    body: dict[str, Any] = {"event_type": fields.text("event_type").strip()}
    if payload_text := fields.text("client_payload").strip():
        try:
            payload = json.loads(payload_text)
        except ValueError:
            raise fields.error("client_payload", "is not JSON; render it as a JSON object") from None
        if not isinstance(payload, dict):
            raise fields.error("client_payload", "must be a JSON object")
        body["client_payload"] = payload
    return body


def repository_of(url: str, fields: TemplateFields) -> tuple[str, str]:
    """(owner, repository) of an https, ssh or `git@host:org/repo` URL, as upstream reads it."""
    if not url or url == "<no value>":
        raise fields.error("repoURLPath", "is missing or empty; set it to the repository URL")
    if "://" in url:
        path = urlsplit(url).path
    elif match := _SCP_LIKE.match(url):
        path = match.group("path")
    else:
        path = url
    parts = [part for part in path.removesuffix("/").removesuffix(".git").split("/") if part]
    if len(parts) < 2:
        raise fields.error("repoURLPath", f"({url!r}) names no owner/repository")
    return parts[0], parts[1]


def truncate(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def api_root_for(reader: Options) -> str:
    """api.github.com, or the enterprise API root with `/api/v3` (GitHub's Go client adds it when missing)."""
    enterprise = reader.text("enterpriseBaseURL").strip().rstrip("/")
    if not enterprise:
        return GITHUB_API
    try:
        parsed = httpx.URL(enterprise)
    except httpx.InvalidURL:
        parsed = httpx.URL()
    if parsed.scheme not in ("http", "https") or not parsed.host:
        raise reader.error("enterpriseBaseURL", "must be an http(s) URL, e.g. https://git.example.com/api/v3")
    host = parsed.host
    if enterprise.endswith("/api/v3") or host.startswith("api.") or ".api." in host:
        return enterprise
    return enterprise + "/api/v3"


@register("github")
def build(name: str, options: Mapping[str, Any], context: ServiceContext) -> Service:
    reader = Options("github", name, options)
    app_id = reader.integer("appID", required=True)
    installation_id = reader.integer("installationID", required=True)
    private_key = private_key_of(reader)
    api = api_root_for(reader)
    insecure = reader.flag("insecureSkipVerify")
    reader.finish()
    assert app_id is not None and installation_id is not None  # required=True
    app = AppCredentials(app_id=app_id, installation_id=installation_id, private_key=private_key)
    http = context.client_for(insecure=True) if insecure else context.http
    tokens = InstallationTokens(label=reader.label, api=api, app=app, http=http)
    return GitHubService(name=name, label=reader.label, api=api, tokens=tokens, http=http)
