"""What the paging services share: strict option and template reading, and errors without secrets."""

from __future__ import annotations

import httpx
import pytest
import yaml
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from ramp.notifications.services.base import SendError, ServiceConfigError, ServiceContext
from ramp.notifications.services.paging import Options, TemplateFields, entry_label, public_url, redact
from ramp.notifications.services.registry import build_service, service_types


def test_the_label_is_how_the_configmap_names_the_entry() -> None:
    assert entry_label("grafana", "grafana") == "service.grafana"
    assert entry_label("grafana", "") == "service.grafana"
    assert entry_label("grafana", "ops") == "service.grafana.ops"


def test_option_names_match_case_insensitively_as_gos_json_does() -> None:
    reader = Options("grafana", "grafana", {"apiURL": "https://g/api", "APIKEY": "k"})
    assert reader.text("apiUrl") == "https://g/api"
    assert reader.text("apiKey") == "k"
    reader.finish()


def test_an_option_nobody_read_is_refused_by_name() -> None:
    reader = Options("opsgenie", "team", {"apiKeys": {"a": "b"}, "region": "eu"})
    reader.text_map("apiKeys")
    with pytest.raises(ServiceConfigError, match=r"^service\.opsgenie\.team: unknown option region:"):
        reader.finish()


def test_type_errors_name_the_option_and_never_quote_its_value() -> None:
    reader = Options("github", "github", {"appID": "s3cr3t-not-a-number", "privateKey": ["x"]})
    with pytest.raises(ServiceConfigError) as raised:
        reader.integer("appID")
    assert "s3cr3t" not in str(raised.value)
    with pytest.raises(ServiceConfigError, match=r"option privateKey: must be a string, not a list"):
        reader.text("privateKey")


def test_an_entry_that_is_not_a_mapping_is_refused() -> None:
    with pytest.raises(ServiceConfigError, match=r"must be a YAML mapping of options, not a string"):
        Options("grafana", "grafana", "apiUrl: x")  # type: ignore[arg-type]


def test_template_fields_take_known_names_in_any_case_and_refuse_others() -> None:
    fields = TemplateFields("service.x", "opsgenie", {"Description": "d", "tags": ["a", 1]}, ("description", "tags"))
    assert fields.text("description") == "d"
    assert fields.text_list("tags") == ["a", "1"]
    with pytest.raises(SendError, match=r"opsgenie\.teams is not a field"):
        TemplateFields("service.x", "opsgenie", {"teams": []}, ("description",))


def test_template_fields_of_the_wrong_shape_are_named() -> None:
    fields = TemplateFields("service.x", "alertmanager", {"labels": "a=b"}, ("labels",))
    with pytest.raises(SendError, match=r"alertmanager\.labels must be a mapping of names to strings"):
        fields.text_map("labels")


def test_secrets_are_masked_longest_first_and_tiny_ones_left_alone() -> None:
    assert redact("token abcdef12 and abcd", ["abcd", "abcdef12", "ab"]) == "token *** and ***"


def test_urls_in_errors_lose_user_info_and_query() -> None:
    assert public_url("https://user:pw@grafana.example.com/api/annotations?key=1") == (
        "https://grafana.example.com/api/annotations"
    )


UPSTREAM_DOCS_ENTRIES = {
    # docs/generated/notification-services/*.md of Argo Rollouts, with each `$secret` already replaced.
    "pagerdutyv2": "serviceKeys:\n  my-service: 0123456789abcdef0123456789abcdef\n",
    "opsgenie": "apiUrl: api.opsgenie.com\napiKeys:\n  my-team: 11111111-2222-3333-4444-555555555555\n",
    "grafana": "apiUrl: https://grafana.example.com/api\napiKey: glsa_key\n",
    "alertmanager": (
        "targets:\n- 10.5.39.39:19093\n- 10.5.39.39:29093\n- 10.5.39.39:39093\nscheme: https\n"
        "apiPath: /api/v2/alerts\ninsecureSkipVerify: true\nbasicAuth:\n  username: ramp\n  password: secret\n"
    ),
    "github": "appID: 12345\ninstallationID: 67890\nprivateKey: |\n{key}",
}


@pytest.mark.parametrize("service_type", sorted(UPSTREAM_DOCS_ENTRIES))
def test_the_upstream_docs_entries_build_unchanged(service_type: str) -> None:

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()
    )
    indented = "".join(f"  {line}\n" for line in key.decode().splitlines())
    options = yaml.safe_load(UPSTREAM_DOCS_ENTRIES[service_type].replace("{key}", indented))
    client = httpx.AsyncClient()
    service = build_service(
        service_type, service_type, options, ServiceContext(http=client, client_for=lambda **_: client)
    )
    assert service.name == service_type


def test_every_paging_service_is_registered() -> None:

    assert {"pagerdutyv2", "opsgenie", "grafana", "alertmanager", "github"} <= set(service_types())
