"""`ramp notifications template get|notify` and `trigger get|run` on the local cluster, as a user of upstream's
`kubectl argo rollouts notifications` runs them: the ConfigMap and Secret of the namespace, a Rollout by name.

Given/When/Then: Given the notifications ConfigMap (upstream's documented catalog, unchanged), its Secret and a
Rollout with a status; When `ramp notifications ...` runs as a subprocess; Then its output is what the
configuration and the Rollout say (the default messages as upstream renders them).
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.backends import Reply, serve
from tests.e2e.harness import Cluster, ramp_command
from tests.e2e.scenario import Scenario

pytestmark = pytest.mark.cluster

CATALOG = Path(__file__).parents[1] / "fixtures" / "notifications" / "argo-rollouts-notification-configmap.yaml"
STEPS = [{"setWeight": 20}, {"pause": {}}, {"setWeight": 60}, {"pause": {"duration": 10}}]


def rollout_manifest(name: str = "web") -> str:
    return json.dumps(
        {
            "apiVersion": "argoproj.io/v1alpha1",
            "kind": "Rollout",
            "metadata": {"name": name},
            "spec": {
                "replicas": 3,
                "selector": {"matchLabels": {"app": name}},
                "template": {
                    "metadata": {"labels": {"app": name}},
                    "spec": {"containers": [{"name": "app", "image": "nginx:1.26"}]},
                },
                "strategy": {"canary": {"steps": STEPS}},
            },
        }
    )


def catalog_with(**extra: str) -> str:
    """Upstream's documented catalog ConfigMap, with `extra` keys added to its data."""
    document = yaml.safe_load(CATALOG.read_text())
    document["data"].update(extra)
    return yaml.safe_dump(document)


SECRET = """
apiVersion: v1
kind: Secret
metadata:
  name: argo-rollouts-notification-secret
stringData:
  team: payments
"""


def notifications(cluster: Cluster, namespace: str, *args: str) -> subprocess.CompletedProcess[str]:
    command = [*ramp_command(), "notifications", *args, "-n", namespace, "--kubeconfig", str(cluster.kubeconfig)]
    return subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)


def given_paused_rollout(cluster: Cluster, namespace: str, **data: str) -> Scenario:
    scenario = Scenario(cluster, namespace).given(catalog_with(**data)).given(SECRET).given(rollout_manifest())
    status: dict[str, Any] = {"phase": "Paused", "currentStepIndex": 1, "updatedReplicas": 1}
    cluster.kubectl(
        "patch",
        "rollout",
        "web",
        "-n",
        namespace,
        "--subresource=status",
        "--type=merge",
        "-p",
        json.dumps({"status": status}),
    )
    return scenario


def test_trigger_get_lists_the_catalog_of_the_namespaces_configmap(cluster: Cluster, namespace: str) -> None:
    given_paused_rollout(cluster, namespace)

    result = notifications(cluster, namespace, "trigger", "get")

    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["NAME", "TEMPLATE", "CONDITION"]
    assert [line.split()[:2] for line in lines[1:]] == [
        ["on-analysis-run-error", "analysis-run-error"],
        ["on-analysis-run-failed", "analysis-run-failed"],
        ["on-analysis-run-running", "analysis-run-running"],
        ["on-rollout-aborted", "rollout-aborted"],
        ["on-rollout-completed", "rollout-completed"],
        ["on-rollout-paused", "rollout-paused"],
        ["on-rollout-step-completed", "rollout-step-completed"],
        ["on-rollout-updated", "rollout-updated"],
        ["on-scaling-replica-set", "scaling-replicaset"],
    ]
    yaml_out = notifications(cluster, namespace, "trigger", "get", "on-rollout-aborted", "-o", "yaml")
    assert yaml.safe_load(yaml_out.stdout) == {"on-rollout-aborted": [{"send": ["rollout-aborted"]}]}


def test_template_get_previews_each_message(cluster: Cluster, namespace: str) -> None:
    given_paused_rollout(cluster, namespace)

    result = notifications(cluster, namespace, "template", "get", "rollout-aborted")

    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "NAME             PREVIEW",
        "rollout-aborted  Rollout {{.rollout.metadata.name}} has been aborted.",
    ]
    names = notifications(cluster, namespace, "template", "get", "-o", "name").stdout.split()
    assert "scaling-replicaset" in names and len(names) == 9


def test_template_notify_prints_upstreams_default_message_for_the_rollout(cluster: Cluster, namespace: str) -> None:
    given_paused_rollout(cluster, namespace)

    result = notifications(cluster, namespace, "template", "notify", "rollout-step-completed", "web")

    assert result.returncode == 0, result.stderr
    printed = yaml.safe_load(result.stdout)
    assert printed["message"] == "Rollout web step number 2/4 has been completed."
    assert printed["email"] == {"subject": "Rollout web step number 2/4 has been completed."}
    (attachment,) = json.loads(printed["slack"]["attachments"])
    assert attachment["title"] == "web"
    assert attachment["color"] == "#18be52"
    assert {field["title"]: field["value"] for field in attachment["fields"]} == {
        "Strategy": "Canary",
        "Step completed": "2/4",
        "app": "nginx:1.26",
    }


def test_trigger_run_evaluates_each_condition_on_the_rollout(cluster: Cluster, namespace: str) -> None:
    given_paused_rollout(
        cluster,
        namespace,
        **{
            "trigger.on-paused-payments": (
                "- when: rollout.status.phase == 'Paused' && secrets.team == 'payments'\n  send: [rollout-paused]\n"
                "- when: rollout.status.currentStepIndex > 2\n  send: [rollout-paused]\n"
            )
        },
    )

    custom = notifications(cluster, namespace, "trigger", "run", "on-paused-payments", "web")
    builtin = notifications(cluster, namespace, "trigger", "run", "on-rollout-aborted", "web")

    assert custom.returncode == 0, custom.stderr
    assert [line.rsplit(None, 1) for line in custom.stdout.splitlines()] == [
        ["CONDITION", "RESULT"],
        ["rollout.status.phase == 'Paused' && secrets.team == 'payments'", "true"],
        ["rollout.status.currentStepIndex > 2", "false"],
    ]
    assert builtin.stdout.split() == ["CONDITION", "RESULT", "true"]


def test_what_ramp_cannot_use_is_a_warning_naming_the_key(cluster: Cluster, namespace: str) -> None:
    given_paused_rollout(cluster, namespace, **{"service.telegram": "token: x", "trigger.on-x": "- send: [nope]"})

    result = notifications(cluster, namespace, "trigger", "get", "-o", "name")

    assert result.returncode == 0, result.stderr
    assert "warning: service.telegram: Ramp has no notification service of type 'telegram'" in result.stderr
    assert "warning: trigger.on-x: condition [0] sends template 'nope', which is not configured" in result.stderr
    assert "on-x" in result.stdout.split()


def test_unknown_names_fail_with_the_names_that_exist(cluster: Cluster, namespace: str) -> None:
    given_paused_rollout(cluster, namespace)

    trigger = notifications(cluster, namespace, "trigger", "run", "on-nothing", "web")
    template = notifications(cluster, namespace, "template", "notify", "nothing", "web")
    rollout = notifications(cluster, namespace, "template", "notify", "rollout-aborted", "absent")
    service = notifications(
        cluster, namespace, "template", "notify", "rollout-aborted", "web", "--recipient", "pager:x"
    )

    assert trigger.returncode == 1 and "trigger with name 'on-nothing' does not exist" in trigger.stderr
    assert template.returncode == 1 and "template with name 'nothing' does not exist" in template.stderr
    assert rollout.returncode == 1 and "absent" in rollout.stderr
    assert service.returncode == 1 and "failed to notify 'pager:x'" in service.stderr


def test_template_notify_sends_through_the_configured_webhook(cluster: Cluster, namespace: str) -> None:
    from ramp.notifications.services.registry import service_types

    if "webhook" not in service_types():
        pytest.skip("the webhook service is not in this build (ramp.notifications.services.registry)")
    with serve(lambda request: Reply(status=204)) as server:
        given_paused_rollout(
            cluster,
            namespace,
            **{
                "service.webhook.hooks": f"url: {server.url}\nheaders:\n- name: X-Team\n  value: $team\n",
                "template.hook-aborted": (
                    "message: unused\nwebhook:\n  hooks:\n    method: POST\n"
                    "    path: /rollouts/{{.rollout.metadata.name}}\n"
                    '    body: \'{"text": "Rollout {{.rollout.metadata.name}} has been aborted."}\'\n'
                ),
            },
        )

        result = notifications(cluster, namespace, "template", "notify", "hook-aborted", "web", "--recipient", "hooks")

        assert result.returncode == 0, result.stderr
        (request,) = server.requests
        assert (request.method, request.path) == ("POST", "/rollouts/web")
        assert request.headers["x-team"] == "payments"
        assert json.loads(request.body) == {"text": "Rollout web has been aborted."}
