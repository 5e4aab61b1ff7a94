"""Credentials as client-go handles them: exec plugins, tokenFile rotation, oidc refresh, merge and loading order."""

from __future__ import annotations

import asyncio
import base64
import json
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from ramp.kube.config import TokenFileAuth, load_config, load_in_cluster, load_kubeconfig
from ramp.kube.errors import ConfigError, CredentialError
from ramp.kube.execcred import (
    ExecAuth,
    ExecConfig,
    ExecCredentialInvalid,
    ExecPluginError,
    ExecPluginFailed,
    exec_info,
    forget_cached_credentials,
    parse_exec_config,
    parse_exec_credential,
    plugin_environment,
    runs_interactively,
)
from ramp.kube.oidc import OidcAuth, OidcConfig, OidcError, id_token_valid, parse_auth_provider, refresh

V1 = "client.authentication.k8s.io/v1"
V1BETA1 = "client.authentication.k8s.io/v1beta1"


@pytest.fixture(autouse=True)
def _fresh_cache() -> None:
    forget_cached_credentials()


def _credential(status: dict[str, Any], api_version: str = V1) -> bytes:
    return json.dumps({"apiVersion": api_version, "kind": "ExecCredential", "status": status}).encode()


def _kubeconfig(path: Path, user: dict[str, Any], cluster: dict[str, Any] | None = None) -> Path:
    doc = {
        "apiVersion": "v1",
        "kind": "Config",
        "current-context": "main",
        "clusters": [{"name": "c", "cluster": cluster or {"server": "https://h:1"}}],
        "users": [{"name": "u", "user": user}],
        "contexts": [{"name": "main", "context": {"cluster": "c", "user": "u"}}],
    }
    path.write_text(yaml.safe_dump(doc))
    return path


# --- ExecCredential parsing and validation -------------------------------------------------------------------


def test_exec_credential_token_with_expiry() -> None:
    cred = parse_exec_credential(
        _credential({"token": "abc", "expirationTimestamp": "2030-01-02T03:04:05Z"}), V1, now=0.0
    )
    assert cred.token == "abc"
    assert cred.expires == 1893553445.0
    assert not cred.expired(1893553444.0)
    assert cred.expired(1893553445.0)


def test_exec_credential_without_expiry_never_expires() -> None:
    cred = parse_exec_credential(_credential({"token": "abc"}, V1BETA1), V1BETA1)
    assert cred.expires is None and not cred.expired(1e12)


def test_exec_credential_client_certificate() -> None:
    cred = parse_exec_credential(_credential({"clientCertificateData": "CERT", "clientKeyData": "KEY"}), V1)
    assert (cred.token, cred.client_cert_data, cred.client_key_data) == (None, b"CERT", b"KEY")


@pytest.mark.parametrize(
    ("stdout", "message"),
    [
        (b"not json", "not JSON"),
        (b"[1]", "must be an ExecCredential object"),
        (json.dumps({"apiVersion": V1, "kind": "Secret", "status": {"token": "t"}}).encode(), "kind is 'Secret'"),
        (_credential({"token": "t"}, V1BETA1), "asked for 'client.authentication.k8s.io/v1'"),
        (json.dumps({"apiVersion": V1, "kind": "ExecCredential"}).encode(), "has no `status`"),
        (_credential({}), "neither a `token` nor a client certificate"),
        (_credential({"clientCertificateData": "CERT"}), "must both be set"),
        (_credential({"token": "t", "expirationTimestamp": "tomorrow"}), "not an RFC 3339 time"),
    ],
)
def test_exec_credential_refusals_name_the_problem(stdout: bytes, message: str) -> None:
    with pytest.raises(ExecCredentialInvalid, match=message):
        parse_exec_credential(stdout, V1)


# --- exec entry validation, environment, interactive mode ----------------------------------------------------


def test_exec_config_v1_requires_interactive_mode(tmp_path: Path) -> None:
    with pytest.raises(ExecPluginError, match="`interactiveMode` is required"):
        parse_exec_config({"command": "x", "apiVersion": V1}, tmp_path / "config", "u")
    beta = parse_exec_config({"command": "x", "apiVersion": V1BETA1}, tmp_path / "config", "u")
    assert beta.interactive_mode == "IfAvailable"


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ({"command": "x", "apiVersion": "client.authentication.k8s.io/v1alpha1"}, "v1alpha1 was removed"),
        ({"apiVersion": V1BETA1}, "`command` is required"),
        ({"command": "x", "apiVersion": V1, "interactiveMode": "Sometimes"}, "interactiveMode 'Sometimes'"),
        ({"command": "x", "apiVersion": V1BETA1, "env": [{"name": "A"}]}, "needs a `name` and a `value`"),
        ({"command": "x", "apiVersion": V1BETA1, "stdin": True}, r"unknown field\(s\) \['stdin'\]"),
    ],
)
def test_exec_config_refusals(tmp_path: Path, entry: dict[str, Any], message: str) -> None:
    with pytest.raises(ExecPluginError, match=message):
        parse_exec_config(entry, tmp_path / "config", "u")


def test_exec_relative_command_with_a_slash_is_relative_to_the_kubeconfig(tmp_path: Path) -> None:
    entry = {"command": "bin/plugin", "apiVersion": V1BETA1}
    assert parse_exec_config(entry, tmp_path / "config", "u").command == str(tmp_path / "bin/plugin")
    assert parse_exec_config({**entry, "command": "plugin"}, tmp_path / "config", "u").command == "plugin"


def test_provide_cluster_info_hands_the_cluster_and_its_exec_extension(tmp_path: Path) -> None:
    cluster = {
        "server": "https://h:1",
        "certificate-authority-data": base64.b64encode(b"CA").decode(),
        "tls-server-name": "api",
        "extensions": [{"name": "client.authentication.k8s.io/exec", "extension": {"audience": "ramp"}}],
    }
    entry = {"command": "p", "apiVersion": V1, "interactiveMode": "Never", "provideClusterInfo": True}
    config = load_kubeconfig([_kubeconfig(tmp_path / "config", {"exec": entry}, cluster)])
    assert config.exec_plugin is not None
    info = json.loads(exec_info(config.exec_plugin, interactive=False))
    assert info == {
        "apiVersion": V1,
        "kind": "ExecCredential",
        "spec": {
            "interactive": False,
            "cluster": {
                "server": "https://h:1",
                "tls-server-name": "api",
                "certificate-authority-data": base64.b64encode(b"CA").decode(),
                "config": {"audience": "ramp"},
            },
        },
    }
    without = ExecConfig(command="p", api_version=V1, interactive_mode="Never")
    assert json.loads(exec_info(without, interactive=False))["spec"] == {"interactive": False}


def test_plugin_environment_adds_the_entry_env_and_exec_info() -> None:
    config = ExecConfig(command="p", api_version=V1, env=(("REGION", "eu"), ("HOME", "/plugin")))
    env = plugin_environment(config, {"HOME": "/root", "PATH": "/bin"}, interactive=False)
    assert env["REGION"] == "eu" and env["HOME"] == "/plugin" and env["PATH"] == "/bin"
    assert json.loads(env["KUBERNETES_EXEC_INFO"])["spec"]["interactive"] is False


def test_interactive_mode_rules() -> None:
    def mode(m: str) -> ExecConfig:
        return ExecConfig(command="p", api_version=V1, interactive_mode=m)

    assert runs_interactively(mode("Never"), True) is False
    assert runs_interactively(mode("IfAvailable"), True) is True
    assert runs_interactively(mode("IfAvailable"), False) is False
    with pytest.raises(ExecPluginError, match="interactiveMode is Always but stdin is not a terminal"):
        runs_interactively(mode("Always"), False)


# --- running the plugin ----------------------------------------------------------------------------------------


def _plugin(tmp_path: Path, body: str) -> Path:
    """A Python plugin script; `runs` in the test folder counts its runs."""
    script = tmp_path / "plugin.py"
    script.write_text(
        f"#!{sys.executable}\n"
        "import json, os, sys, time, pathlib\n"
        f"counter = pathlib.Path({str(tmp_path / 'runs')!r})\n"
        "n = int(counter.read_text()) + 1 if counter.exists() else 1\n"
        "counter.write_text(str(n))\n" + body
    )
    script.chmod(0o755)
    return script


def _emit(status: str) -> str:
    return (
        "print(json.dumps({'apiVersion': 'client.authentication.k8s.io/v1', 'kind': 'ExecCredential', "
        f"'status': {status}}}))\n"
    )


def _runs(tmp_path: Path) -> int:
    return int((tmp_path / "runs").read_text()) if (tmp_path / "runs").exists() else 0


async def test_concurrent_requests_share_one_plugin_run(tmp_path: Path) -> None:
    script = _plugin(tmp_path, "time.sleep(0.3)\n" + _emit("{'token': f'token-{n}'}"))
    auth = ExecAuth(ExecConfig(command=str(script), api_version=V1, interactive_mode="Never"))
    other_client = ExecAuth(ExecConfig(command=str(script), api_version=V1, interactive_mode="Never"))
    creds = await asyncio.gather(*(a.credential() for a in [auth, other_client] * 4))
    assert {c.token for c in creds} == {"token-1"}
    assert _runs(tmp_path) == 1
    # Cached (no expiry): a later request does not run it again.
    assert (await auth.credential()).token == "token-1" and _runs(tmp_path) == 1


async def test_an_expired_credential_runs_the_plugin_again(tmp_path: Path) -> None:
    body = "from datetime import datetime, timezone, timedelta\n" + _emit(
        "{'token': f'token-{n}', 'expirationTimestamp': "
        "(datetime.now(timezone.utc) + timedelta(seconds=1)).strftime('%Y-%m-%dT%H:%M:%SZ')}"
    )
    auth = ExecAuth(ExecConfig(command=str(_plugin(tmp_path, body)), api_version=V1, interactive_mode="Never"))
    first = await auth.credential()
    assert first.expires is not None
    while time.time() < first.expires:
        assert (await auth.credential()) is first
        await asyncio.sleep(0.1)
    second = await auth.credential()
    assert second.token != first.token and _runs(tmp_path) == 2


async def test_a_401_drops_the_credential_once_and_retries(tmp_path: Path) -> None:
    script = _plugin(tmp_path, _emit("{'token': f'token-{n}'}"))
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers["Authorization"])
        return httpx.Response(401 if request.headers["Authorization"] == "Bearer token-1" else 200, json={})

    auth = ExecAuth(ExecConfig(command=str(script), api_version=V1, interactive_mode="Never"))
    async with httpx.AsyncClient(transport=httpx.MockTransport(handler), auth=auth) as http:
        response = await http.get("https://h/api")
    assert response.status_code == 200
    assert seen == ["Bearer token-1", "Bearer token-2"]


async def test_the_plugin_sees_env_and_exec_info(tmp_path: Path) -> None:
    script = _plugin(
        tmp_path,
        _emit("{'token': os.environ['GREETING'] + '|' + json.loads(os.environ['KUBERNETES_EXEC_INFO'])['kind']}"),
    )
    auth = ExecAuth(
        ExecConfig(command=str(script), api_version=V1, env=(("GREETING", "hi"),), interactive_mode="Never")
    )
    assert (await auth.credential()).token == "hi|ExecCredential"


async def test_plugin_failures_are_named(tmp_path: Path) -> None:
    failing = _plugin(tmp_path, "sys.stderr.write('login first\\n')\nsys.exit(3)\n")
    with pytest.raises(ExecPluginFailed, match="exited with code 3"):
        await ExecAuth(ExecConfig(command=str(failing), api_version=V1, interactive_mode="Never")).credential()
    slow = _plugin(tmp_path, "time.sleep(30)\n")
    with pytest.raises(ExecPluginFailed, match=r"no answer after 0\.5s; killed"):
        await ExecAuth(
            ExecConfig(command=str(slow), api_version=V1, interactive_mode="Never", timeout=0.5)
        ).credential()
    missing = ExecConfig(command="ramp-no-such-plugin", api_version=V1, install_hint="brew install it")
    with pytest.raises(ExecPluginFailed, match="not found or not executable; brew install it"):
        await ExecAuth(missing).credential()


# --- tokenFile and in-cluster rotation --------------------------------------------------------------------------


class _Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _bearer(auth: httpx.Auth) -> str:
    return next(auth.auth_flow(httpx.Request("GET", "https://h/api"))).headers["Authorization"]


def test_in_cluster_token_is_re_read_as_it_rotates(tmp_path: Path) -> None:
    (tmp_path / "token").write_text("first\n")
    (tmp_path / "ca.crt").write_bytes(b"CA")
    (tmp_path / "namespace").write_text("team")
    config = load_in_cluster({"KUBERNETES_SERVICE_HOST": "10.0.0.1"}, tmp_path)
    assert (config.ca_data, config.namespace, config.server) == (b"CA", "team", "https://10.0.0.1:443")
    assert config.token_file is not None
    clock = _Clock()
    auth = TokenFileAuth(config.token_file, clock=clock)
    assert _bearer(auth) == "Bearer first"
    (tmp_path / "token").write_text("second\n")
    clock.now += 30
    assert _bearer(auth) == "Bearer first"  # within the minute: the cached token
    clock.now += 31
    assert _bearer(auth) == "Bearer second"


def test_token_file_401_re_reads_and_retries_once(tmp_path: Path) -> None:
    (tmp_path / "token").write_text("old")
    auth = TokenFileAuth(str(tmp_path / "token"), clock=_Clock())
    flow = auth.auth_flow(httpx.Request("GET", "https://h/api"))
    assert next(flow).headers["Authorization"] == "Bearer old"
    (tmp_path / "token").write_text("new")
    retried = flow.send(httpx.Response(401))
    assert retried.headers["Authorization"] == "Bearer new"
    # Unchanged file after a 401: no second attempt.
    flow = auth.auth_flow(httpx.Request("GET", "https://h/api"))
    next(flow)
    with pytest.raises(StopIteration):
        flow.send(httpx.Response(401))


def test_kubeconfig_token_file_is_relative_to_its_kubeconfig_and_re_read(tmp_path: Path) -> None:
    (tmp_path / "tok").write_text("t1")
    config = load_kubeconfig([_kubeconfig(tmp_path / "config", {"tokenFile": "tok"})])
    assert config.token_file == str(tmp_path / "tok")
    auth = config.auth()
    assert isinstance(auth, TokenFileAuth)
    with pytest.raises(ConfigError, match="`tokenFile: nope` cannot be read"):
        load_kubeconfig([_kubeconfig(tmp_path / "config", {"tokenFile": "nope"})])


# --- merge rules and loading order --------------------------------------------------------------------------------


def test_current_context_comes_from_the_first_file_that_sets_it(tmp_path: Path) -> None:
    first = {"clusters": [{"name": "c2", "cluster": {"server": "https://first-c2:1"}}]}
    (tmp_path / "a").write_text(yaml.safe_dump(first))
    second = _kubeconfig(tmp_path / "b", {"token": "t"})
    doc = yaml.safe_load(second.read_text())
    doc["contexts"].append({"name": "two", "context": {"cluster": "c2", "user": "u"}})
    doc["clusters"].append({"name": "c2", "cluster": {"server": "https://second-c2:1"}})
    doc["current-context"] = "two"
    second.write_text(yaml.safe_dump(doc))
    config = load_config(environ={"KUBECONFIG": f"{tmp_path / 'a'}:{second}:{tmp_path / 'a'}"}, home=tmp_path)
    # current-context from the second file (the first sets none); cluster c2 from the first file.
    assert (config.server, config.token) == ("https://first-c2:1", "t")


def test_kubeconfig_env_without_existing_files_falls_back_to_in_cluster(tmp_path: Path) -> None:
    (tmp_path / "token").write_text("pod")
    env = {"KUBECONFIG": str(tmp_path / "absent"), "KUBERNETES_SERVICE_HOST": "10.0.0.1"}
    assert load_config(environ=env, home=tmp_path, service_account_dir=tmp_path).source == "in-cluster"
    with pytest.raises(ConfigError, match="none of these files exists"):
        load_config(environ={"KUBECONFIG": str(tmp_path / "absent")}, home=tmp_path)


def test_kubeconfig_env_wins_over_home_and_home_over_in_cluster(tmp_path: Path) -> None:
    (tmp_path / ".kube").mkdir()
    _kubeconfig(tmp_path / ".kube" / "config", {"token": "home"})
    env_file = _kubeconfig(tmp_path / "env", {"token": "env"})
    (tmp_path / "token").write_text("pod")
    env = {"KUBECONFIG": str(env_file), "KUBERNETES_SERVICE_HOST": "10.0.0.1"}
    assert load_config(environ=env, home=tmp_path, service_account_dir=tmp_path).token == "env"
    env.pop("KUBECONFIG")
    assert load_config(environ=env, home=tmp_path, service_account_dir=tmp_path).token == "home"


# --- proxy-url, auth-provider refusals ----------------------------------------------------------------------------


def test_proxy_url(tmp_path: Path) -> None:
    ok = load_kubeconfig([_kubeconfig(tmp_path / "c", {}, {"server": "https://h:1", "proxy-url": "http://p:3128"})])
    assert ok.proxy_url == "http://p:3128"
    with pytest.raises(ConfigError, match="use http://, https:// or socks5://"):
        load_kubeconfig([_kubeconfig(tmp_path / "c", {}, {"server": "https://h:1", "proxy-url": "ftp://p"})])


def test_auth_provider_refusals(tmp_path: Path) -> None:
    with pytest.raises(OidcError, match="'gcp' is not supported"):
        load_kubeconfig([_kubeconfig(tmp_path / "c", {"auth-provider": {"name": "gcp"}})])
    bad = {"name": "oidc", "config": {"idp-issuer-url": "https://i", "client-id": "x", "scope": "a"}}
    with pytest.raises(OidcError, match=r"unknown oidc config key\(s\) \['scope'\]"):
        parse_auth_provider(bad, tmp_path / "c", "u")
    with pytest.raises(OidcError, match="needs `client-id`"):
        parse_auth_provider({"name": "oidc", "config": {"idp-issuer-url": "https://i"}}, tmp_path / "c", "u")
    both = {"exec": {"command": "x", "apiVersion": V1BETA1}, "auth-provider": {"name": "oidc"}}
    with pytest.raises(ConfigError, match="sets both `exec` and `auth-provider`"):
        load_kubeconfig([_kubeconfig(tmp_path / "c", both)])


# --- oidc -------------------------------------------------------------------------------------------------------------


def _jwt(exp: float) -> str:
    def part(value: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")

    return f"{part({'alg': 'none'})}.{part({'exp': int(exp), 'sub': 'me'})}.sig"


def test_id_token_validity_uses_exp_with_a_margin() -> None:
    now = time.time()
    assert id_token_valid(_jwt(now + 60), now)
    assert not id_token_valid(_jwt(now + 5), now)
    assert not id_token_valid("not-a-jwt", now)


def _issuer(fresh: str, *, with_id_token: bool = True) -> httpx.MockTransport:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/.well-known/openid-configuration":
            return httpx.Response(200, json={"token_endpoint": "https://issuer/token"})
        assert request.url.path == "/token"
        form = dict(x.split("=") for x in request.content.decode().split("&"))
        assert form == {"grant_type": "refresh_token", "refresh_token": "r1"}
        assert request.headers["Authorization"] == "Basic " + base64.b64encode(b"ramp:secret").decode()
        return httpx.Response(200, json={"id_token": fresh, "refresh_token": "r2"} if with_id_token else {})

    return httpx.MockTransport(handler)


async def test_oidc_refresh_persists_tokens_into_the_kubeconfig(tmp_path: Path) -> None:
    old, fresh = _jwt(time.time() - 5), _jwt(time.time() + 3600)
    provider = {
        "name": "oidc",
        "config": {
            "idp-issuer-url": "https://issuer",
            "client-id": "ramp",
            "client-secret": "secret",
            "id-token": old,
            "refresh-token": "r1",
        },
    }
    path = _kubeconfig(tmp_path / "config", {"auth-provider": provider})
    path.chmod(0o600)
    config = load_kubeconfig([path])
    assert config.oidc is not None
    auth = OidcAuth(config.oidc, transport=_issuer(fresh))
    assert await auth.token() == fresh
    assert await auth.token() == fresh and auth.refreshes == 1
    saved = yaml.safe_load(path.read_text())["users"][0]["user"]["auth-provider"]["config"]
    assert (saved["id-token"], saved["refresh-token"], saved["client-id"]) == (fresh, "r2", "ramp")
    assert path.stat().st_mode & 0o777 == 0o600


async def test_oidc_refresh_refusals(tmp_path: Path) -> None:
    base = OidcConfig(issuer_url="https://issuer", client_id="ramp", client_secret="secret", refresh_token="r1")
    with pytest.raises(OidcError, match="has no id_token"):
        await refresh(base, transport=_issuer("x", with_id_token=False))
    with pytest.raises(OidcError, match="no refresh-token; log in again"):
        await refresh(OidcConfig(issuer_url="https://issuer", client_id="ramp"))


def test_exec_auth_is_async_only() -> None:
    auth = ExecAuth(ExecConfig(command="p", api_version=V1))
    with pytest.raises(ExecPluginError, match="async client only"):
        next(auth.sync_auth_flow(httpx.Request("GET", "https://h/api")))


async def test_a_failing_plugin_is_a_transport_error_for_the_request(tmp_path: Path) -> None:
    # As in client-go, a request whose credential cannot be obtained fails like a connection error:
    # informers and workers back off and retry, and the next request runs the plugin again.
    failing = _plugin(tmp_path, "sys.exit(2)\n")
    auth = ExecAuth(ExecConfig(command=str(failing), api_version=V1, interactive_mode="Never"))
    async with httpx.AsyncClient(transport=httpx.MockTransport(lambda r: httpx.Response(200)), auth=auth) as http:
        with pytest.raises(CredentialError, match="exited with code 2") as caught:
            await http.get("https://h/api")
    assert isinstance(caught.value, httpx.TransportError)
    assert _runs(tmp_path) == 1
