"""Notifications on the local cluster (issue 17's done-when): a Rollout subscribed to on-rollout-completed,
on-rollout-aborted and on-analysis-run-failed through webhook, Slack and email gets exactly one message per event,
across a controller crash in the middle of a release, rendered from the catalog's default templates; a service
whose server is down is a NotificationFailed Warning event and a `notification_send_error` count, and the
release goes on; the catalog ConfigMap in the shape Argo Rollouts documents it loads unchanged, and what Ramp
cannot honour in it is a NotificationConfigInvalid Warning event on the ConfigMap.

Behaviour matched (upstream docs features/notifications.md and utils/record/record.go): each event of a Rollout
fires the trigger named after its reason (RolloutCompleted -> on-rollout-completed); subscriptions are the
`notifications.argoproj.io/subscribe.<trigger>.<service>: <recipients>` annotations; with
`--self-service-notification-enabled` the ConfigMap and Secret are read from the Rollout's own namespace too.

Receivers are real servers on free ports of 127.0.0.1: a Slack Web API (chat.postMessage), a plain HTTP endpoint
for the webhook, and an SMTP server (aiosmtpd) for email. The ConfigMap lives in the test's namespace
(self-service), so concurrent tests on the shared cluster never read each other's.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from ramp.notifications.engine import EMPTY_WHEN
from tests.backends import LocalHttpServer, ReceivedRequest, Reply
from tests.backends.chat import SlackApi
from tests.backends.smtp import SmtpServer, free_port
from tests.e2e.gates import RampGates
from tests.e2e.harness import Cluster, ControllerProcess, wait_until
from tests.e2e.scenario import Scenario

ROOT = Path(__file__).resolve().parents[2]
CATALOG = ROOT / "tests" / "fixtures" / "notifications" / "argo-rollouts-notification-configmap.yaml"
OLD, NEW, NEWER = "nginx:1.27", "nginx:1.28", "nginx:1.29"
TRIGGERS = ("on-rollout-completed", "on-rollout-aborted", "on-analysis-run-failed")
COMPLETED = "Rollout web has been completed."
ABORTED = "Rollout web has been aborted."
ANALYSIS_FAILED = "Rollout web's analysis run failed."
SLACK_TOKEN = "xoxb-1111-2222-secrettoken"
MESSAGE_WAIT = 120.0


class Ratio:
    """The metric the analysis step reads over HTTP (a web provider): the error ratio the test sets."""

    def __init__(self) -> None:
        self.value = 0.01
        self.lock = threading.Lock()
        self.server = LocalHttpServer(self.respond)

    def respond(self, request: ReceivedRequest) -> Reply:
        with self.lock:
            return Reply.json(json.dumps({"ratio": self.value}))


@pytest.fixture
def ratio() -> Iterator[Ratio]:
    serving = Ratio()
    serving.server.start()
    yield serving
    serving.server.stop()


@pytest.fixture
def slack() -> Iterator[SlackApi]:
    with SlackApi(token=SLACK_TOKEN, channels={"releases": "C0RELEASES"}) as server:
        yield server


@pytest.fixture
def hook() -> Iterator[LocalHttpServer]:
    server = LocalHttpServer(lambda request: Reply(200, "ok")).start()
    yield server
    server.stop()


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    with SmtpServer(mode="plain") as server:
        yield server


def _configmap(slack: SlackApi, hook: LocalHttpServer, smtp: SmtpServer) -> str:
    """The catalog ConfigMap unchanged, with the services added (and one Ramp has no service type for)."""
    catalog = yaml.safe_load(CATALOG.read_text())
    catalog["data"] |= {
        "service.slack": f"token: $slack-token\napiURL: {slack.api_url}\n",
        "service.webhook.hook": f"url: {hook.url}/releases\n",
        "service.email": f"host: {smtp.host}\nport: {smtp.port}\nfrom: ramp@example.com\n",
        # Nothing listens there: every send fails (the broken service of the done-when).
        "service.webhook.pager": f"url: http://127.0.0.1:{free_port()}/alerts\n",
        # An upstream service type Ramp does not have: named in a Warning event, never silently ignored.
        "service.awssqs": "region: us-east-1\nqueue: releases\n",
        # A custom trigger (upstream's docs' on-purple, on this test's images): sent when its condition comes to hold.
        "trigger.on-new-image": (
            f"- send: [new-image]\n  when: rollout.spec.template.spec.containers[0].image == '{NEW}'\n"
        ),
        "template.new-image": (
            "message: Rollout {{.rollout.metadata.name}} runs "
            "{{(index .rollout.spec.template.spec.containers 0).image}}.\n"
        ),
    }
    return json.dumps(catalog)


SECRET = json.dumps(
    {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": "argo-rollouts-notification-secret"},
        "stringData": {"slack-token": SLACK_TOKEN},
    }
)


def _subscriptions() -> dict[str, str]:
    found = {}
    for trigger in TRIGGERS:
        found[f"notifications.argoproj.io/subscribe.{trigger}.slack"] = "releases"
        found[f"notifications.argoproj.io/subscribe.{trigger}.hook"] = ""
        found[f"notifications.argoproj.io/subscribe.{trigger}.email"] = "oncall@example.com"
    found["notifications.argoproj.io/subscribe.on-rollout-completed.pager"] = ""
    found["notifications.argoproj.io/subscribe.on-new-image.slack"] = "releases"
    return found


def _template(ratio: Ratio) -> str:
    metric = {
        "name": "error-ratio",
        "count": 1,
        "successCondition": "result < 0.05",
        "provider": {"web": {"url": f"{ratio.server.url}/ratio", "jsonPath": "{$.ratio}"}},
    }
    manifest = {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "AnalysisTemplate",
        "metadata": {"name": "error-ratio"},
        "spec": {"metrics": [metric]},
    }
    return json.dumps(manifest)


def _rollout(image: str) -> str:
    manifest = {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Rollout",
        "metadata": {"name": "web", "annotations": _subscriptions()},
        "spec": {
            "replicas": 2,
            "selector": {"matchLabels": {"app": "web"}},
            "template": {
                "metadata": {"labels": {"app": "web"}},
                "spec": {"containers": [{"name": "app", "image": image}]},
            },
            "strategy": {
                "canary": {
                    "steps": [
                        {"setWeight": 50},
                        {"pause": {}},
                        {"analysis": {"templates": [{"templateName": "error-ratio"}]}},
                    ]
                }
            },
        },
    }
    return json.dumps(manifest)


def _completed_at(image: str) -> Callable[[dict[str, Any]], bool]:
    def check(rollout: dict[str, Any]) -> bool:
        status = rollout.get("status") or {}
        images = [c["image"] for c in rollout["spec"]["template"]["spec"]["containers"]]
        return (
            images == [image]
            and status.get("phase") == "Healthy"
            and status.get("stableRS") == status.get("currentPodHash")
        )

    return check


def _start(start_controller: Callable[..., ControllerProcess], namespace: str, label: str) -> ControllerProcess:
    controller = start_controller(
        "--namespaced",
        "--namespace",
        namespace,
        "--leader-elect=false",
        "--self-service-notification-enabled",
        label=label,
    )
    controller.wait_for_log("workers started")
    return controller


class Inboxes:
    """What each receiver got, as message texts."""

    def __init__(self, slack: SlackApi, hook: LocalHttpServer, smtp: SmtpServer) -> None:
        self.slack, self.hook, self.smtp = slack, hook, smtp

    def slack_texts(self) -> list[str]:
        return [str(m["text"]) for m in self.slack.accepted if m["method"] == "chat.postMessage"]

    def hook_texts(self) -> list[str]:
        return [r.body.decode() for r in self.hook.requests if r.path == "/releases"]

    def mail_subjects(self) -> list[str]:
        with self.smtp.lock:
            return [str(m.message["Subject"]) for m in self.smtp.received]

    def counts(self, text: str) -> tuple[int, int, int]:
        """How many times (Slack, webhook, email) got `text`."""
        return (
            sum(t.strip() == text for t in self.slack_texts()),
            sum(t.strip() == text for t in self.hook_texts()),
            sum(s.strip() == text for s in self.mail_subjects()),
        )

    def wait_for(self, text: str, times: int) -> None:
        wait_until(
            lambda: self.counts(text) == (times, times, times) or None,
            MESSAGE_WAIT,
            f"{times} x {text!r} at Slack, the webhook and email (got {self.counts(text)})",
        )


def _send_errors(controller: ControllerProcess, namespace: str, reason: str) -> float:
    pattern = re.compile(r"^notification_send_error\{(?P<labels>[^}]*)\} (?P<value>[0-9.e+]+)$", re.MULTILINE)
    total = 0.0
    for match in pattern.finditer(controller.metrics()):
        labels = dict(re.findall(r'(\w+)="([^"]*)"', match["labels"]))
        if labels == {"namespace": namespace, "name": "web", "type": "Normal", "reason": reason}:
            total += float(match["value"])
    return total


def _configmap_warnings(cluster: Cluster, namespace: str) -> list[str]:
    events = json.loads(
        cluster.kubectl(
            "get",
            "events",
            "-n",
            namespace,
            "--field-selector",
            "involvedObject.kind=ConfigMap,reason=NotificationConfigInvalid",
            "-o",
            "json",
        )
    )
    return [str(e["message"]) for e in events["items"] if e["type"] == "Warning"]


def test_a_subscribed_rollout_gets_one_message_per_event_through_webhook_slack_and_email_across_a_crash(
    cluster: Cluster,
    namespace: str,
    start_controller: Callable[..., ControllerProcess],
    slack: SlackApi,
    hook: LocalHttpServer,
    smtp: SmtpServer,
    ratio: Ratio,
) -> None:
    s = Scenario(cluster, namespace)
    inboxes = Inboxes(slack, hook, smtp)
    gates = RampGates(cluster, namespace)
    # Given the catalog ConfigMap (as Argo Rollouts documents it) with Slack, webhook and email services, a broken
    # webhook and a service type Ramp does not have, and the Secret with the Slack token, in the Rollout's namespace
    s.given(_configmap(slack, hook, smtp))
    s.given(SECRET)
    s.given(_template(ratio))
    first = _start(start_controller, namespace, "before-crash")
    # Then what Ramp cannot honour in it is a Warning event on the ConfigMap, and the rest is used
    found = wait_until(lambda: _configmap_warnings(cluster, namespace), 60, "a NotificationConfigInvalid event")
    assert any("service.awssqs" in message for message in found), found
    # When a Rollout subscribed to three triggers through the three services is created
    s.given(_rollout(OLD))
    s.then_phase("web", "Healthy")
    # Then its first completion is one message at each receiver, rendered from the catalog's template
    inboxes.wait_for(COMPLETED, 1)
    # When a release starts and pauses, and the controller crashes in the middle of it
    gates.set_image("web", "app", NEW)
    s.then_phase("web", "Paused")
    first.kill()
    second = _start(start_controller, namespace, "after-crash")
    # And the release is promoted past its (passing) analysis
    gates.promote("web")
    s.then_rollout("web", _completed_at(NEW), f"completed at {NEW}")
    # Then its completion is one more message at each receiver, and the first was not sent again
    inboxes.wait_for(COMPLETED, 2)
    # And the custom trigger told Slack once that the new image runs, before the crash or after, not both
    assert inboxes.slack_texts().count(f"Rollout web runs {NEW}.") == 1
    # And the broken webhook failed for each completion: a Warning event naming the trigger and the service, and
    # upstream's error metric, while the release completed all the same
    s.then_event("web", "NotificationFailed")
    failures = s.event_messages("web", "NotificationFailed")
    assert all(m.startswith("notification on-rollout-completed to pager failed:") for m in failures), failures
    assert all(SLACK_TOKEN not in m for m in failures)
    wait_until(lambda: _send_errors(second, namespace, "RolloutCompleted") >= 1, 60, "notification_send_error")
    # When the next release's analysis fails
    with ratio.lock:
        ratio.value = 0.5
    gates.set_image("web", "app", NEWER)
    s.then_phase("web", "Paused")
    gates.promote("web")
    s.then_phase("web", "Degraded")
    # Then the failed analysis and the abort are one message each at each receiver
    inboxes.wait_for(ABORTED, 1)
    inboxes.wait_for(ANALYSIS_FAILED, 1)
    # And nothing was sent twice: two completions, one abort, one failed analysis, at each receiver
    assert inboxes.counts(COMPLETED) == (2, 2, 2)
    assert inboxes.counts(ABORTED) == (1, 1, 1)
    assert inboxes.counts(ANALYSIS_FAILED) == (1, 1, 1)
    assert inboxes.slack_texts().count(f"Rollout web runs {NEW}.") == 1
    # And the Slack messages carry the catalog's attachment (red for the abort), the mails the catalog's subject
    aborted = next(m for m in slack.accepted if str(m.get("text", "")).strip() == ABORTED)
    attachments = aborted["attachments"]
    attachment = (json.loads(attachments) if isinstance(attachments, str) else attachments)[0]
    assert (attachment["title"], attachment["color"]) == ("web", "#E01E5A")
    assert {"title": "app", "value": NEWER, "short": True} in attachment["fields"]
    assert all(m.rcpt_tos == ("oncall@example.com",) for m in smtp.received)
    # And the Rollout remembers what was sent in upstream's annotation, with nothing left pending
    annotations = s.get("rollout", "web")["metadata"]["annotations"]
    notified = json.loads(annotations["notified.notifications.argoproj.io"])
    assert sum(":on-rollout-aborted:" in key for key in notified) == 3
    assert "notifications.ramp.dev/pending" not in annotations


class FlakyHook:
    """A webhook receiver that answers 503 until `up` is set; `accepted` holds the bodies it answered 200 to."""

    def __init__(self) -> None:
        self.up = False
        self.refused = 0
        self.accepted: list[str] = []
        self.lock = threading.Lock()
        self.server = LocalHttpServer(self.respond)

    def respond(self, request: ReceivedRequest) -> Reply:
        with self.lock:
            if not self.up:
                self.refused += 1
                return Reply(503, "warming up")
            self.accepted.append(request.body.decode())
            return Reply(200, "ok")


@pytest.fixture
def flaky_hook() -> Iterator[FlakyHook]:
    hook = FlakyHook()
    hook.server.start()
    yield hook
    hook.server.stop()


def test_a_message_promised_when_the_controller_crashes_is_sent_once_after_the_restart(
    cluster: Cluster,
    namespace: str,
    start_controller: Callable[..., ControllerProcess],
    flaky_hook: FlakyHook,
) -> None:
    s = Scenario(cluster, namespace)
    # Given a webhook service whose server answers 503 for now (retried with the service's own settings)
    catalog = yaml.safe_load(CATALOG.read_text())
    catalog["data"]["service.webhook.hook"] = (
        f"url: {flaky_hook.server.url}/releases\nretryMax: 10\nretryWaitMin: 1s\nretryWaitMax: 2s\n"
    )
    s.given(json.dumps(catalog))
    first = _start(start_controller, namespace, "before-crash")
    # And a Rollout subscribed to on-rollout-completed through it
    rollout = json.loads(_rollout(OLD))
    rollout["metadata"]["annotations"] = {"notifications.argoproj.io/subscribe.on-rollout-completed.hook": ""}
    rollout["spec"]["strategy"] = {"canary": {}}
    s.given(json.dumps(rollout))
    s.then_phase("web", "Healthy")
    # When the controller crashes while it is still trying to deliver the completion
    wait_until(lambda: flaky_hook.refused >= 1, 60, "a first attempt at the webhook")
    first.kill()
    pending = s.get("rollout", "web")["metadata"]["annotations"].get("notifications.ramp.dev/pending", "")
    assert ":on-rollout-completed:" in pending, "the delivery was promised on the Rollout before it was tried"
    # And the server comes back, and so does the controller
    with flaky_hook.lock:
        flaky_hook.up = True
    _start(start_controller, namespace, "after-crash")
    # Then the promised message is sent, once, and recorded as sent
    wait_until(lambda: flaky_hook.accepted, MESSAGE_WAIT, "the completion message after the restart")

    def recorded() -> dict[str, Any] | None:
        annotations = s.get("rollout", "web")["metadata"]["annotations"]
        done = "notifications.ramp.dev/pending" not in annotations
        return annotations if done and "notified.notifications.argoproj.io" in annotations else None

    annotations = wait_until(recorded, 60, "the delivery recorded as sent")
    notified = json.loads(annotations["notified.notifications.argoproj.io"])
    # (upstream's key: the occurrence, the self-service configuration's namespace, trigger, condition, service,
    # recipient)
    assert [key.split(":", 1)[1] for key in notified] == [f"{namespace}:on-rollout-completed:[0].{EMPTY_WHEN}:hook:"]
    assert [body.strip() for body in flaky_hook.accepted] == [COMPLETED]
