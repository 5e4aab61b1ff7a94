"""`ramp.notifications.source`: the ConfigMap and Secret objects as the API server stores them."""

from __future__ import annotations

import base64

from ramp.notifications.source import config_from_objects, configmap_data, secret_data


def encoded(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def test_secret_values_are_decoded_from_base64_and_string_data_counts_too():
    values, problems = secret_data({"data": {"token": encoded("xoxb-1")}, "stringData": {"team": "pay"}})
    assert (values, problems) == ({"token": "xoxb-1", "team": "pay"}, [])


def test_a_secret_value_that_is_not_base64_text_is_a_problem_naming_the_key_not_the_value():
    values, problems = secret_data({"data": {"bad": "%%%", "binary": base64.b64encode(b"\xff\xfe").decode()}})
    assert values == {}
    assert [problem.key for problem in problems] == [
        "argo-rollouts-notification-secret/bad",
        "argo-rollouts-notification-secret/binary",
    ]
    assert all("%%%" not in str(problem) for problem in problems)


def test_binary_data_of_the_configmap_is_a_problem():
    data, problems = configmap_data({"data": {"context": "a: b"}, "binaryData": {"trigger.on-x": "AA=="}})
    assert data == {"context": "a: b"}
    assert [(problem.key, "binaryData" in problem.message) for problem in problems] == [("trigger.on-x", True)]


def test_absent_objects_leave_the_builtin_catalog():
    config, problems = config_from_objects(None, None, namespace="argo-rollouts", service_types=())
    assert problems == []
    assert "on-rollout-aborted" in config.triggers
    assert config.services == {}


def test_secret_references_of_services_read_the_decoded_secret():
    config, problems = config_from_objects(
        {"data": {"service.slack": "token: $slack-token"}},
        {"data": {"slack-token": encoded("xoxb-9")}},
        namespace="argo-rollouts",
        service_types=("slack",),
    )
    assert problems == []
    assert config.services["slack"].options == {"token": "xoxb-9"}
