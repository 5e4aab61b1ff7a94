"""`ramp.notifications.render`: templates render upstream's default messages, per destination, bounded, with named
errors. Runs on `ramp.notifications.gotemplate` (Go text/template + sprig)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml

from ramp.notifications.config import load_config
from ramp.notifications.render import RenderError, render_notification
from ramp.notifications.triggers import variables_for

FIXTURE = Path(__file__).parents[2] / "fixtures" / "notifications" / "argo-rollouts-notification-configmap.yaml"
NOW = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
TYPES = ("slack", "email", "webhook")


def rollout(strategy="canary"):
    spec_strategy = {"canary": {"steps": [{"setWeight": 20}, {"pause": {}}, {"setWeight": 60}, {"pause": {}}]}}
    if strategy == "blueGreen":
        spec_strategy = {"blueGreen": {"activeService": "web"}}
    return {
        "metadata": {"name": "web", "namespace": "shop"},
        "spec": {
            "replicas": 5,
            "strategy": spec_strategy,
            "template": {
                "spec": {
                    "containers": [{"name": "app", "image": "nginx:1.26"}, {"name": "proxy", "image": 'envoy:"1"'}]
                }
            },
        },
        "status": {"currentStepIndex": 2, "updatedReplicas": 2},
    }


def builtin(**data):
    config, problems = load_config(data, {"token": "s3cr3t"}, namespace="ns", service_types=TYPES)
    assert problems == []
    return config


@pytest.mark.parametrize(
    ("template", "message"),
    [
        ("rollout-completed", "Rollout web has been completed."),
        ("rollout-step-completed", "Rollout web step number 3/4 has been completed."),
        ("rollout-updated", "Rollout web has been updated."),
        ("scaling-replicaset", "Scaling Rollout web's replicaset to 5."),
        ("rollout-paused", "Rollout web has been paused."),
        ("rollout-aborted", "Rollout web has been aborted."),
        ("analysis-run-running", "Rollout web's analysis run is running."),
        ("analysis-run-error", "Rollout web's analysis run is in error state."),
        ("analysis-run-failed", "Rollout web's analysis run failed."),
    ],
)
def test_builtin_templates_render_upstreams_default_messages(template, message):
    notification = render_notification(builtin(), template, variables_for(rollout(), now=NOW))
    assert notification.message == message
    assert notification.of("email") == {"subject": message}


@pytest.mark.parametrize(
    ("template", "color", "extra"),
    [
        ("rollout-completed", "#18be52", {}),
        ("rollout-aborted", "#E01E5A", {}),
        ("analysis-run-error", "#ECB22E", {}),
        ("analysis-run-failed", "#E01E5A", {}),
        ("rollout-step-completed", "#18be52", {"Step completed": "3/4"}),
        ("scaling-replicaset", "#18be52", {"Desired replica": "5", "Updated replicas": "2"}),
    ],
)
def test_builtin_slack_attachments_hold_upstreams_fields(template, color, extra):
    notification = render_notification(builtin(), template, variables_for(rollout(), now=NOW))
    (attachment,) = json.loads(notification.of("slack")["attachments"])
    assert attachment["title"] == "web"
    assert attachment["color"] == color
    fields = {field["title"]: (field["value"], field["short"]) for field in attachment["fields"]}
    expected = {"Strategy": "Canary", **extra, "app": "nginx:1.26", "proxy": 'envoy:"1"'}
    assert fields == {title: (value, True) for title, value in expected.items()}


def test_strategy_reads_blue_green():
    notification = render_notification(builtin(), "rollout-aborted", variables_for(rollout("blueGreen"), now=NOW))
    (attachment,) = json.loads(notification.of("slack")["attachments"])
    assert attachment["fields"][0]["value"] == "BlueGreen"


def test_the_documented_catalog_configmap_renders_the_same_messages_as_the_builtin_one():
    data = yaml.safe_load(FIXTURE.read_text())["data"]
    documented, problems = load_config(data, {}, namespace="ns", with_catalog=False, service_types=TYPES)
    assert problems == []
    ours = builtin()
    plain = rollout()
    plain["spec"]["template"]["spec"]["containers"][1]["image"] = "envoy:1.30"  # upstream's shape quotes no JSON
    variables = variables_for(plain, now=NOW)
    for name in documented.templates:
        theirs_rendered = render_notification(documented, name, variables)
        ours_rendered = render_notification(ours, name, variables)
        assert theirs_rendered.message == ours_rendered.message
        assert theirs_rendered.of("email") == ours_rendered.of("email")
        theirs_slack = json.loads(theirs_rendered.of("slack")["attachments"])
        ours_slack = json.loads(ours_rendered.of("slack")["attachments"])
        assert theirs_slack == ours_slack


def test_only_the_destinations_service_part_renders_when_asked():
    config = builtin(**{"template.t": "message: m\nslack:\n  attachments: '{{fail \"boom\"}}'\nemail:\n  subject: s"})
    notification = render_notification(config, "t", {}, service_type="email")
    assert (notification.message, dict(notification.fields)) == ("m", {"email": {"subject": "s"}})
    with pytest.raises(RenderError, match=r"template 't', field slack\.attachments"):
        render_notification(config, "t", {})


def test_templates_see_recipient_service_secrets_and_context():
    config = builtin(
        **{
            "template.t": (
                "message: '{{.recipient}} {{.serviceType}} {{.context.env}} {{.secrets.token | toString}} "
                "{{.secrets.token}}'\n"
                'webhook:\n  hook:\n    method: POST\n    body: \'{"name": "{{.rollout.metadata.name}}"}\'\n'
            ),
            "context": "env: prod",
        }
    )
    notification = render_notification(config, "t", variables_for(rollout(), now=NOW), service="hook", recipient="ops")
    # upstream hands templates the Secret's data as bytes: printed raw, Go prints a byte slice
    assert notification.message == "ops hook prod s3cr3t [115 51 99 114 51 116]"
    assert notification.of("webhook") == {"hook": {"method": "POST", "body": '{"name": "web"}'}}


def test_several_templates_merge_in_order():
    config = builtin(
        **{
            "template.a": "message: a\nslack:\n  username: first\n  icon: ':x:'",
            "template.b": "slack:\n  username: second",
        }
    )
    notification = render_notification(config, ["a", "b"], {})
    assert notification.message == "a"
    assert notification.of("slack") == {"username": "second", "icon": ":x:"}


def test_non_string_leaves_are_kept_as_written():
    config = builtin(**{"template.t": "message: m\nslack:\n  notifyBroadcast: true"})
    assert render_notification(config, "t", {}).of("slack") == {"notifyBroadcast": True}


def test_a_missing_template_is_a_named_error():
    with pytest.raises(RenderError, match="template 'nope' is not configured"):
        render_notification(builtin(), "nope", {})


def test_a_missing_value_prints_as_go_prints_it():
    config = builtin(**{"template.t": "message: '{{.rollout.status.nothing}}'"})
    assert render_notification(config, "t", {"rollout": {"status": {}}}).message == "<no value>"


def test_templates_read_time_as_upstream_templates_do():
    config = builtin(
        **{
            "template.t": (
                'message: \'{{ (call .time.Now).Format "2006-01-02" }} '
                '{{ (call .time.Parse .rollout.metadata.creationTimestamp).Unix }} {{ now | date "15:04" }}\''
            )
        }
    )
    made = rollout()
    made["metadata"]["creationTimestamp"] = "1970-01-01T00:01:40Z"
    assert render_notification(config, "t", variables_for(made, now=NOW)).message == "2024-05-01 100 12:00"
