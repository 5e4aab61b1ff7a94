"""Loading cluster settings from kubeconfig files (written to a temp dir) and the in-cluster environment."""

from __future__ import annotations

import base64
import shutil
import ssl
import subprocess
from pathlib import Path

import httpx
import pytest
import yaml

from ramp.kube.config import (
    ClusterConfig,
    ConfigOverrides,
    apply_overrides,
    load_config,
    load_in_cluster,
    load_kubeconfig,
    parse_request_timeout,
)
from ramp.kube.errors import ConfigError


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _write(path: Path, doc: dict) -> Path:
    path.write_text(yaml.safe_dump(doc))
    return path


def _kubeconfig(cluster: dict, user: dict, *, namespace: str | None = None, current: str = "main") -> dict:
    context = {"cluster": "c", "user": "u", **({"namespace": namespace} if namespace else {})}
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "current-context": current,
        "clusters": [{"name": "c", "cluster": cluster}],
        "users": [{"name": "u", "user": user}],
        "contexts": [{"name": "main", "context": context}],
    }


def test_inline_data_fields_are_base64_decoded(tmp_path: Path) -> None:
    doc = _kubeconfig(
        {"server": "https://127.0.0.1:6443/", "certificate-authority-data": _b64(b"CA PEM")},
        {"client-certificate-data": _b64(b"CERT PEM"), "client-key-data": _b64(b"KEY PEM")},
        namespace="team-a",
    )
    config = load_kubeconfig([_write(tmp_path / "config", doc)])
    assert config.server == "https://127.0.0.1:6443"
    assert (config.ca_data, config.client_cert_data, config.client_key_data) == (
        b"CA PEM",
        b"CERT PEM",
        b"KEY PEM",
    )
    assert config.namespace == "team-a"
    assert "context=main" in config.source


def test_file_fields_are_read_relative_to_the_kubeconfig(tmp_path: Path) -> None:
    (tmp_path / "pki").mkdir()
    (tmp_path / "pki" / "ca.crt").write_bytes(b"CA FROM FILE")
    (tmp_path / "pki" / "admin.crt").write_bytes(b"CERT FROM FILE")
    key = tmp_path / "admin.key"
    key.write_bytes(b"KEY FROM FILE")
    doc = _kubeconfig(
        {"server": "https://h:1", "certificate-authority": "pki/ca.crt"},
        {"client-certificate": "pki/admin.crt", "client-key": str(key)},
    )
    config = load_kubeconfig([_write(tmp_path / "config", doc)])
    assert config.ca_data == b"CA FROM FILE"
    assert config.client_cert_data == b"CERT FROM FILE"
    assert config.client_key_data == b"KEY FROM FILE"
    assert config.namespace == "default"


def test_token_and_insecure_skip_tls_verify(tmp_path: Path) -> None:
    doc = _kubeconfig({"server": "https://h:1", "insecure-skip-tls-verify": True}, {"token": "s3cret"})
    config = load_kubeconfig([_write(tmp_path / "config", doc)])
    assert config.token == "s3cret"
    assert config.insecure_skip_tls_verify
    context = config.ssl_context()
    assert context.verify_mode == ssl.CERT_NONE
    assert not context.check_hostname
    request = httpx.Request("GET", "https://h:1/api")
    auth = config.auth()
    assert auth is not None
    assert next(auth.auth_flow(request)).headers["Authorization"] == "Bearer s3cret"


def test_explicit_context_overrides_current_context(tmp_path: Path) -> None:
    doc = _kubeconfig({"server": "https://h:1"}, {"token": "t"}, current="missing")
    doc["contexts"].append({"name": "other", "context": {"cluster": "c", "user": "u", "namespace": "x"}})
    path = _write(tmp_path / "config", doc)
    assert load_kubeconfig([path], context="other").namespace == "x"
    with pytest.raises(ConfigError, match="context 'missing' not found"):
        load_kubeconfig([path])


def test_kubeconfig_env_merges_files_first_one_wins(tmp_path: Path) -> None:
    first = _kubeconfig({"server": "https://first:1"}, {"token": "first"})
    second = _kubeconfig({"server": "https://second:1"}, {"token": "second"}, current="other")
    second["clusters"].append({"name": "extra", "cluster": {"server": "https://extra:1"}})
    second["contexts"] = [{"name": "other", "context": {"cluster": "extra", "user": "u"}}]
    a, b = _write(tmp_path / "a", first), _write(tmp_path / "b", second)
    config = load_config(environ={"KUBECONFIG": f"{a}:{tmp_path / 'absent'}:{b}"}, home=tmp_path)
    assert (config.server, config.token) == ("https://first:1", "first")
    # A context defined only in the second file still resolves, with the first file's user `u`.
    other = load_config(context="other", environ={"KUBECONFIG": f"{a}:{b}"}, home=tmp_path)
    assert (other.server, other.token) == ("https://extra:1", "first")


def test_explicit_path_wins_over_kubeconfig_env(tmp_path: Path) -> None:
    explicit = _write(tmp_path / "explicit", _kubeconfig({"server": "https://explicit:1"}, {}))
    env = _write(tmp_path / "env", _kubeconfig({"server": "https://env:1"}, {}))
    config = load_config(str(explicit), environ={"KUBECONFIG": str(env)}, home=tmp_path)
    assert config.server == "https://explicit:1"


def test_home_kubeconfig_then_in_cluster(tmp_path: Path) -> None:
    sa = tmp_path / "sa"
    sa.mkdir()
    (sa / "token").write_text("pod-token\n")
    (sa / "namespace").write_text("argo-rollouts")
    env = {"KUBERNETES_SERVICE_HOST": "fd00::1", "KUBERNETES_SERVICE_PORT": "443"}
    config = load_config(environ=env, home=tmp_path, service_account_dir=sa)
    assert config.server == "https://[fd00::1]:443"
    assert config.namespace == "argo-rollouts"
    assert config.token_file == str(sa / "token")
    assert config.source == "in-cluster"
    (tmp_path / ".kube").mkdir()
    _write(tmp_path / ".kube" / "config", _kubeconfig({"server": "https://home:1"}, {}))
    assert load_config(environ=env, home=tmp_path, service_account_dir=sa).server == "https://home:1"


def test_in_cluster_token_file_is_sent_as_bearer(tmp_path: Path) -> None:
    (tmp_path / "token").write_text("rotating\n")
    config = load_in_cluster({"KUBERNETES_SERVICE_HOST": "10.0.0.1"}, tmp_path)
    auth = config.auth()
    assert auth is not None
    sent = next(auth.auth_flow(httpx.Request("GET", "https://10.0.0.1/api")))
    assert sent.headers["Authorization"] == "Bearer rotating"


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: d.update({"current-context": ""}), "current-context is empty"),
        (lambda d: d["contexts"][0]["context"].update({"cluster": "nope"}), "names cluster 'nope'"),
        (lambda d: d["users"][0]["user"].update({"exec": {"command": "aws"}}), "exec: apiVersion .. is not supported"),
        (lambda d: d["clusters"][0]["cluster"].pop("server"), "has no `server`"),
        (
            lambda d: d["users"][0]["user"].update({"client-key": "missing.key"}),
            "`client-key: missing.key` cannot",
        ),
        (
            lambda d: d["clusters"][0]["cluster"].update({"certificate-authority-data": "%%%"}),
            "not valid base64",
        ),
    ],
)
def test_bad_kubeconfigs_name_the_field(tmp_path: Path, mutate, message: str) -> None:
    doc = _kubeconfig({"server": "https://h:1"}, {"token": "t"})
    mutate(doc)
    with pytest.raises(ConfigError, match=message):
        load_kubeconfig([_write(tmp_path / "config", doc)])


def test_nothing_configured_says_what_to_do(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="pass --kubeconfig"):
        load_config(environ={}, home=tmp_path, service_account_dir=tmp_path / "none")
    with pytest.raises(ConfigError, match="no such file"):
        load_config(str(tmp_path / "absent"), environ={}, home=tmp_path)


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs openssl to make a test certificate")
def test_client_certificate_data_loads_into_the_tls_context(tmp_path: Path) -> None:
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=ramp-test",
         "-keyout", str(tmp_path / "k.pem"), "-out", str(tmp_path / "c.pem")],
        check=True, capture_output=True,
    )  # fmt: skip
    cert, key = (tmp_path / "c.pem").read_bytes(), (tmp_path / "k.pem").read_bytes()
    config = ClusterConfig(server="https://h:1", ca_data=cert, client_cert_data=cert, client_key_data=key)
    assert isinstance(config.ssl_context(), ssl.SSLContext)
    broken = ClusterConfig(server="https://h:1", client_cert_data=cert, client_key_data=b"not a key")
    with pytest.raises(ConfigError, match="do not load"):
        broken.ssl_context()


def test_command_line_flags_win_over_the_kubeconfig(tmp_path: Path) -> None:
    doc = _kubeconfig(
        {"server": "https://kubeconfig:6443", "certificate-authority-data": _b64(b"CA")},
        {"client-certificate-data": _b64(b"CERT"), "client-key-data": _b64(b"KEY")},
    )
    ca = tmp_path / "other-ca.crt"
    ca.write_bytes(b"OTHER CA")
    flags = ConfigOverrides(
        server="https://flag:6443/",
        token="sa-token",
        certificate_authority=str(ca),
        namespace="team",
        impersonate_user="alice",
        impersonate_groups=("dev",),
        request_timeout=5.0,
    )
    config = load_config(str(_write(tmp_path / "config", doc)), overrides=flags, environ={}, home=tmp_path)
    assert (config.server, config.token, config.ca_data, config.namespace) == (
        "https://flag:6443",
        "sa-token",
        b"OTHER CA",
        "team",
    )
    assert config.client_cert_data is None and config.client_key_data is None
    assert config.impersonation_headers() == {"Impersonate-User": "alice"}
    assert config.impersonate_groups == ("dev",) and config.request_timeout == 5.0


def test_server_and_token_alone_make_a_configuration_without_a_kubeconfig(tmp_path: Path) -> None:
    flags = ConfigOverrides(server="https://api:6443", token="t", insecure_skip_tls_verify=True)
    config = load_config(environ={}, home=tmp_path, service_account_dir=tmp_path / "none", overrides=flags)
    assert (config.server, config.token, config.insecure_skip_tls_verify) == ("https://api:6443", "t", True)


def test_cluster_and_user_flags_pick_kubeconfig_entries(tmp_path: Path) -> None:
    doc = _kubeconfig({"server": "https://c"}, {"token": "u-token"})
    doc["clusters"].append({"name": "other", "cluster": {"server": "https://other"}})
    doc["users"].append({"name": "robot", "user": {"token": "robot-token"}})
    path = _write(tmp_path / "config", doc)
    config = load_kubeconfig([path], cluster="other", user="robot")
    assert (config.server, config.token) == ("https://other", "robot-token")
    with pytest.raises(ConfigError, match="--user names user 'ghost'"):
        load_kubeconfig([path], user="ghost")


@pytest.mark.parametrize(
    ("flags", "named"),
    [
        (ConfigOverrides(impersonate_groups=("dev",)), "--as-group needs --as"),
        (ConfigOverrides(client_certificate="/x"), "--client-key"),
        (ConfigOverrides(certificate_authority="/absent/ca.crt"), "--certificate-authority"),
    ],
)
def test_bad_flag_combinations_are_refused_naming_the_flag(flags: ConfigOverrides, named: str) -> None:
    with pytest.raises(ConfigError, match=named):
        apply_overrides(ClusterConfig(server="https://x"), flags)


@pytest.mark.parametrize(("text", "seconds"), [("0", 0.0), ("30s", 30.0), ("1m", 60.0), ("250ms", 0.25), ("5", 5.0)])
def test_request_timeout_takes_kubectls_forms(text: str, seconds: float) -> None:
    assert parse_request_timeout(text) == seconds


def test_a_request_timeout_that_is_no_duration_is_refused() -> None:
    with pytest.raises(ConfigError, match="--request-timeout"):
        parse_request_timeout("soon")
