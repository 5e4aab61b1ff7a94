"""Kubernetes credentials against the local cluster: exec plugins, expiring and rotating tokens, client
certificates (files and data), a KUBECONFIG list merged from two files, and an oidc refresh.

The identities are the controller's ServiceAccount (deploy/rbac.yaml) with tokens minted by `kubectl create
token`. Tokens bound to a Secret (`--bound-object-kind Secret`) stop working when the test deletes that Secret:
that is how a token "expires" or is "rotated away" on the API server's side here.

The local API server is not configured to verify OIDC tokens, so the oidc test's issuer (a minimal token
endpoint run by the test) hands out a ServiceAccount token as the refreshed `id_token`: the refresh exchange,
its persistence into the kubeconfig and the use of the new token are real; the OIDC signature check is not.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import socket
import ssl
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from tests.e2e.harness import Cluster, ControllerProcess, build_dir, ramp_command, wait_until

pytestmark = pytest.mark.cluster

RBAC = Path(__file__).resolve().parents[2] / "deploy" / "rbac.yaml"
SA, SA_NAMESPACE = "argo-rollouts", "argo-rollouts"
V1 = "client.authentication.k8s.io/v1"


@pytest.fixture
def workdir() -> Path:
    path = build_dir() / f"cred-{uuid.uuid4().hex[:8]}"
    path.mkdir(parents=True)
    return path


@pytest.fixture
def bound_secrets(cluster: Cluster) -> Iterator[str]:
    """A name prefix for Secrets that tokens are bound to; all of them are deleted at the end."""
    prefix = f"ramp-cred-{uuid.uuid4().hex[:6]}"
    cluster.apply(RBAC.read_text(), server_side=True)
    yield prefix
    names = cluster.kubectl("get", "secrets", "-n", SA_NAMESPACE, "-o", "name", check=False).split()
    mine = [n for n in names if n.startswith(f"secret/{prefix}")]
    if mine:
        cluster.kubectl("delete", "-n", SA_NAMESPACE, "--wait=false", *mine, check=False)


def mint(cluster: Cluster, bound_to: str | None = None) -> str:
    """A ServiceAccount token; with `bound_to`, valid only while that Secret exists (created here)."""
    args = ["create", "token", SA, "-n", SA_NAMESPACE, "--duration=1h"]
    if bound_to:
        cluster.kubectl("create", "secret", "generic", bound_to, "-n", SA_NAMESPACE)
        args += ["--bound-object-kind=Secret", f"--bound-object-name={bound_to}"]
    return cluster.kubectl(*args).strip()


def kubeconfig(cluster: Cluster, path: Path, user: dict[str, Any], **cluster_fields: Any) -> Path:
    admin = yaml.safe_load(cluster.kubeconfig.read_text())
    doc = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "local", "cluster": {**admin["clusters"][0]["cluster"], **cluster_fields}}],
        "users": [{"name": "me", "user": user}],
        "contexts": [{"name": "ctx", "context": {"cluster": "local", "user": "me"}}],
        "current-context": "ctx",
    }
    path.write_text(yaml.safe_dump(doc))
    return path


def exec_plugin(
    cluster: Cluster, workdir: Path, prefix: str, *, lifetime: int | None, bogus_first: bool = False
) -> Path:
    """A plugin script handing out ServiceAccount tokens bound to Secret `<prefix>-<run>`; it counts its runs in
    `runs` and saves the KUBERNETES_EXEC_INFO it was given in `exec-info.json`."""
    script = workdir / "plugin.py"
    script.write_text(
        f"""#!{sys.executable}
import json, os, pathlib, subprocess
from datetime import datetime, timedelta, timezone
state = pathlib.Path({str(workdir)!r})
runs = state / "runs"
n = int(runs.read_text()) + 1 if runs.exists() else 1
runs.write_text(str(n))
(state / "exec-info.json").write_text(os.environ["KUBERNETES_EXEC_INFO"])
kubectl = [{str(cluster.local.kubectl)!r}, "--kubeconfig", {str(cluster.kubeconfig)!r}]
kubectl += ["-n", os.environ["SA_NAMESPACE"]]
secret = f"{prefix}-{{n}}"
if {bogus_first!r} and n == 1:
    token = "not-a-valid-token"
else:
    subprocess.run(kubectl + ["create", "secret", "generic", secret], check=True, capture_output=True)
    token = subprocess.run(
        kubectl + ["create", "token", os.environ["SA_NAME"], "--duration=1h",
                   "--bound-object-kind=Secret", "--bound-object-name=" + secret],
        check=True, capture_output=True, text=True,
    ).stdout.strip()
status = {{"token": token}}
lifetime = {lifetime!r}
if lifetime:
    expires = datetime.now(timezone.utc) + timedelta(seconds=lifetime)
    status["expirationTimestamp"] = expires.strftime("%Y-%m-%dT%H:%M:%SZ")
print(json.dumps({{"apiVersion": {V1!r}, "kind": "ExecCredential", "status": status}}))
"""
    )
    script.chmod(0o755)
    return kubeconfig(
        cluster,
        workdir / "kubeconfig",
        {
            "exec": {
                "apiVersion": V1,
                "command": str(script),
                "interactiveMode": "Never",
                "provideClusterInfo": True,
                "env": [{"name": "SA_NAME", "value": SA}, {"name": "SA_NAMESPACE", "value": SA_NAMESPACE}],
            }
        },
    )


def refused(cluster: Cluster, token: str) -> bool:
    """Whether the API server answers 401 to `token` (a revoked token may be cached there for a few seconds)."""
    admin = yaml.safe_load(cluster.kubeconfig.read_text())["clusters"][0]["cluster"]
    response = httpx.get(
        f"{admin['server']}/api",
        headers={"Authorization": f"Bearer {token}"},
        verify=ssl.create_default_context(cafile=admin["certificate-authority"]),
        timeout=10,
    )
    return response.status_code == 401


def runs(workdir: Path) -> int:
    path = workdir / "runs"
    return int(path.read_text()) if path.exists() else 0


def ramp_list(namespace: str, *, kubeconfig: Path | None, env: dict[str, str] | None = None) -> str:
    command = [*ramp_command(), "list", "rollouts", "-n", namespace]
    if kubeconfig is not None:
        command += ["--kubeconfig", str(kubeconfig)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False, env=env)
    assert result.returncode == 0, f"ramp list failed ({result.returncode}):\n{result.stdout}\n{result.stderr}"
    return result.stdout


def rollout(name: str) -> str:
    return f"""
apiVersion: argoproj.io/v1alpha1
kind: Rollout
metadata: {{name: {name}}}
spec:
  replicas: 1
  selector: {{matchLabels: {{app: {name}}}}}
  template:
    metadata: {{labels: {{app: {name}}}}}
    spec: {{containers: [{{name: app, image: nginx:1.27}}]}}
  strategy: {{canary: {{}}}}
"""


def wait_healthy(cluster: Cluster, namespace: str, name: str) -> None:
    wait_until(
        lambda: cluster.get("rollout", name, namespace).get("status", {}).get("phase") == "Healthy",
        90,
        f"rollout {name} to be Healthy",
    )


def test_exec_plugin_serves_the_cli_and_the_controller(
    cluster: Cluster,
    namespace: str,
    start_controller: Callable[..., ControllerProcess],
    workdir: Path,
    bound_secrets: str,
) -> None:
    # Given a kubeconfig whose user is an exec plugin handing out the ServiceAccount's token
    config = exec_plugin(cluster, workdir, bound_secrets, lifetime=None)
    cluster.apply(rollout("via-exec"), namespace)
    # When `ramp list rollouts` runs with it
    listed = ramp_list(namespace, kubeconfig=config)
    # Then the rollout is listed, the plugin ran once and got the cluster's details (provideClusterInfo)
    assert "via-exec" in listed
    assert runs(workdir) == 1
    info = json.loads((workdir / "exec-info.json").read_text())
    admin_server = yaml.safe_load(cluster.kubeconfig.read_text())["clusters"][0]["cluster"]["server"]
    assert info["apiVersion"] == V1 and info["spec"]["interactive"] is False
    assert info["spec"]["cluster"]["server"] == admin_server
    assert info["spec"]["cluster"]["certificate-authority-data"]
    # When the controller runs with it, Then it brings the rollout to Healthy without a refused request
    controller = start_controller(kubeconfig_override=config)
    controller.wait_for_log("informers synced", timeout=60)
    wait_healthy(cluster, namespace, "via-exec")
    metrics = controller.metrics()
    assert 'status_code="401"' not in metrics and 'status_code="403"' not in metrics


def test_exec_plugin_token_expires_and_is_renewed_mid_watch(
    cluster: Cluster,
    namespace: str,
    start_controller: Callable[..., ControllerProcess],
    workdir: Path,
    bound_secrets: str,
) -> None:
    # Given an exec plugin whose tokens say they expire 5 s after they are handed out
    config = exec_plugin(cluster, workdir, bound_secrets, lifetime=5)
    controller = start_controller(kubeconfig_override=config)
    controller.wait_for_log("informers synced", timeout=60)
    # When time passes, the controller runs the plugin again for each expired token
    wait_until(lambda: runs(workdir) >= 3, 90, "the plugin to run a third time")
    # ... and the tokens of the first runs are revoked on the server (their Secrets deleted)
    latest = runs(workdir)
    old = [f"secret/{bound_secrets}-{n}" for n in range(1, latest - 1)]
    cluster.kubectl("delete", "-n", SA_NAMESPACE, *old)
    # Then a rollout created now is reconciled to Healthy: watches and writes go on with the renewed token
    cluster.apply(rollout("renewed"), namespace)
    wait_healthy(cluster, namespace, "renewed")
    assert runs(workdir) > latest - 1
    metrics = controller.metrics()
    assert 'status_code="401"' not in metrics, "a request went out with an expired credential"
    assert controller.log().count("informers synced") == 1, "the informers were started again"


def test_a_refused_exec_token_is_dropped_and_the_plugin_runs_again(
    cluster: Cluster, namespace: str, workdir: Path, bound_secrets: str
) -> None:
    # Given a plugin whose first token the API server refuses (401)
    config = exec_plugin(cluster, workdir, bound_secrets, lifetime=None, bogus_first=True)
    cluster.apply(rollout("after-401"), namespace)
    # When `ramp list rollouts` runs, Then the request is retried with a fresh credential and succeeds
    assert "after-401" in ramp_list(namespace, kubeconfig=config)
    assert runs(workdir) == 2


def test_client_certificate_from_files_and_from_data(cluster: Cluster, namespace: str, workdir: Path) -> None:
    admin = yaml.safe_load(cluster.kubeconfig.read_text())
    user = admin["users"][0]["user"]
    assert "client-certificate" in user or "client-certificate-data" in user, "the admin kubeconfig uses a cert"

    cert, key = read_pem(user, "client-certificate"), read_pem(user, "client-key")
    cluster.apply(rollout("by-cert"), namespace)
    # Given the certificate and key as files next to the kubeconfig (relative paths) ...
    (workdir / "tls").mkdir()
    (workdir / "tls" / "me.crt").write_bytes(cert)
    (workdir / "tls" / "me.key").write_bytes(key)
    files = kubeconfig(
        cluster, workdir / "files.kubeconfig", {"client-certificate": "tls/me.crt", "client-key": "tls/me.key"}
    )
    # ... and inline as -data
    data = kubeconfig(
        cluster,
        workdir / "data.kubeconfig",
        {
            "client-certificate-data": base64.b64encode(cert).decode(),
            "client-key-data": base64.b64encode(key).decode(),
        },
    )
    # When/Then `ramp list rollouts` authenticates with each
    assert "by-cert" in ramp_list(namespace, kubeconfig=files)
    assert "by-cert" in ramp_list(namespace, kubeconfig=data)


def test_exec_plugin_can_hand_out_a_client_certificate(cluster: Cluster, namespace: str, workdir: Path) -> None:
    # Given a plugin that prints the admin's client certificate and key (PEM) instead of a token
    admin = yaml.safe_load(cluster.kubeconfig.read_text())["users"][0]["user"]
    cert, key = (read_pem(admin, field) for field in ("client-certificate", "client-key"))
    (workdir / "cert.json").write_text(
        json.dumps(
            {
                "apiVersion": V1,
                "kind": "ExecCredential",
                "status": {"clientCertificateData": cert.decode(), "clientKeyData": key.decode()},
            }
        )
    )
    script = workdir / "cert-plugin.sh"
    script.write_text(f"#!/bin/sh\ncat {workdir / 'cert.json'}\n")
    script.chmod(0o755)
    config = kubeconfig(
        cluster,
        workdir / "kubeconfig",
        {"exec": {"apiVersion": V1, "command": str(script), "interactiveMode": "Never"}},
    )
    cluster.apply(rollout("exec-cert"), namespace)
    # When/Then `ramp list rollouts` presents that certificate
    assert "exec-cert" in ramp_list(namespace, kubeconfig=config)


def read_pem(user: dict[str, Any], field: str) -> bytes:
    """A kubeconfig user's certificate or key, from `<field>-data` or the file `<field>` names."""
    if f"{field}-data" in user:
        return base64.b64decode(user[f"{field}-data"])
    return Path(user[field]).read_bytes()


def test_token_file_rotation_is_picked_up_by_the_controller(
    cluster: Cluster,
    namespace: str,
    start_controller: Callable[..., ControllerProcess],
    workdir: Path,
    bound_secrets: str,
) -> None:
    # Given a kubeconfig whose user reads its token from a file
    token_file = workdir / "token"
    token_file.write_text(mint(cluster, bound_to=f"{bound_secrets}-a"))
    config = kubeconfig(cluster, workdir / "kubeconfig", {"tokenFile": "token"})
    controller = start_controller(kubeconfig_override=config)
    controller.wait_for_log("informers synced", timeout=60)
    # When the token is rotated in the file and the old one is revoked (the API server refuses it)
    old = token_file.read_text()
    token_file.write_text(mint(cluster, bound_to=f"{bound_secrets}-b"))
    cluster.kubectl("delete", "secret", f"{bound_secrets}-a", "-n", SA_NAMESPACE)
    wait_until(lambda: refused(cluster, old), 60, "the API server to refuse the revoked token")
    # Then the controller goes on with the new token: a rollout created now reaches Healthy
    cluster.apply(rollout("rotated"), namespace)
    wait_healthy(cluster, namespace, "rotated")
    assert controller.log().count("informers synced") == 1, "the informers were started again"


def test_kubeconfig_list_merges_two_files(cluster: Cluster, namespace: str, workdir: Path, bound_secrets: str) -> None:
    admin = yaml.safe_load(cluster.kubeconfig.read_text())
    # Given a first file with the cluster, the context and current-context, but no user entry ...
    first = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "local", "cluster": admin["clusters"][0]["cluster"]}],
        "contexts": [{"name": "merged", "context": {"cluster": "local", "user": "sa"}}],
        "current-context": "merged",
    }
    # ... and a second file with the user, plus a context of the same name and a current-context that lose
    second = {
        "apiVersion": "v1",
        "kind": "Config",
        "users": [{"name": "sa", "user": {"token": mint(cluster)}}],
        "clusters": [{"name": "broken", "cluster": {"server": "https://127.0.0.1:1"}}],
        "contexts": [
            {"name": "merged", "context": {"cluster": "broken", "user": "sa"}},
            {"name": "other", "context": {"cluster": "broken", "user": "sa"}},
        ],
        "current-context": "other",
    }
    (workdir / "first").write_text(yaml.safe_dump(first))
    (workdir / "second").write_text(yaml.safe_dump(second))
    cluster.apply(rollout("merged"), namespace)
    # When `ramp list rollouts` runs with KUBECONFIG listing both (and a missing one), no --kubeconfig
    env = {
        **os.environ,
        "KUBECONFIG": os.pathsep.join([str(workdir / "first"), str(workdir / "missing"), str(workdir / "second")]),
    }
    # Then the first file's context and cluster and the second file's user make the configuration
    assert "merged" in ramp_list(namespace, kubeconfig=None, env=env)


class _ConnectProxy:
    """A minimal HTTP CONNECT proxy that records the targets it tunnels to."""

    def __init__(self) -> None:
        self.targets: list[str] = []
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}"
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._tunnel, args=(client,), daemon=True).start()

    def _tunnel(self, client: socket.socket) -> None:
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = client.recv(4096)
            if not chunk:
                client.close()
                return
            head += chunk
        method, target = head.split(b" ")[:2]
        if method != b"CONNECT":
            client.sendall(b"HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\n\r\n")
            client.close()
            return
        self.targets.append(target.decode())
        host, port = target.decode().rsplit(":", 1)
        upstream = socket.create_connection((host, int(port)))
        client.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")

        def pipe(src: socket.socket, dst: socket.socket) -> None:
            with contextlib.suppress(OSError):
                while data := src.recv(65536):
                    dst.sendall(data)
            for sock in (src, dst):
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)

        threading.Thread(target=pipe, args=(upstream, client), daemon=True).start()
        pipe(client, upstream)

    def close(self) -> None:
        self.listener.close()


def test_proxy_url_carries_the_requests(cluster: Cluster, namespace: str, workdir: Path) -> None:
    # Given a cluster entry with `proxy-url` pointing at a CONNECT proxy
    proxy = _ConnectProxy()
    try:
        admin = yaml.safe_load(cluster.kubeconfig.read_text())
        config = kubeconfig(cluster, workdir / "kubeconfig", admin["users"][0]["user"], **{"proxy-url": proxy.url})
        cluster.apply(rollout("proxied"), namespace)
        # When `ramp list rollouts` runs with it
        assert "proxied" in ramp_list(namespace, kubeconfig=config)
        # Then its connection to the API server went through the proxy
        server = httpx.URL(admin["clusters"][0]["cluster"]["server"])
        assert f"{server.host}:{server.port}" in proxy.targets
    finally:
        proxy.close()


class _Issuer:
    """A minimal OIDC token endpoint for the refresh exchange (discovery + refresh_token grant)."""

    def __init__(self, id_token: Callable[[], str]) -> None:
        self.requests: list[dict[str, str]] = []
        issuer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if self.path == "/.well-known/openid-configuration":
                    self._answer(200, {"issuer": issuer.url, "token_endpoint": f"{issuer.url}/token"})
                else:
                    self._answer(404, {})

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"])).decode()
                form = dict(part.split("=", 1) for part in body.split("&"))
                form["authorization"] = self.headers.get("Authorization", "")
                issuer.requests.append(form)
                if self.path == "/token" and form.get("refresh_token") == "refresh-1":
                    self._answer(200, {"id_token": id_token(), "refresh_token": "refresh-2", "token_type": "Bearer"})
                else:
                    self._answer(400, {"error": "invalid_grant"})

            def _answer(self, code: int, body: dict[str, Any]) -> None:
                data = json.dumps(body).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def _expired_jwt() -> str:
    def part(value: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")

    return f"{part({'alg': 'RS256'})}.{part({'exp': int(time.time()) - 60, 'sub': 'me'})}.c2ln"


def test_oidc_auth_provider_refreshes_and_persists_the_tokens(cluster: Cluster, namespace: str, workdir: Path) -> None:
    cluster.apply(RBAC.read_text(), server_side=True)
    issuer = _Issuer(lambda: mint(cluster))
    try:
        # Given an oidc user whose id-token has expired, with a refresh-token
        config = kubeconfig(
            cluster,
            workdir / "kubeconfig",
            {
                "auth-provider": {
                    "name": "oidc",
                    "config": {
                        "idp-issuer-url": issuer.url,
                        "client-id": "ramp",
                        "client-secret": "s3cret",
                        "id-token": _expired_jwt(),
                        "refresh-token": "refresh-1",
                    },
                }
            },
        )
        cluster.apply(rollout("via-oidc"), namespace)
        # When `ramp list rollouts` runs
        assert "via-oidc" in ramp_list(namespace, kubeconfig=config)
        # Then it refreshed once at the token endpoint, with the client's credentials
        assert len(issuer.requests) == 1
        grant = issuer.requests[0]
        assert (grant["grant_type"], grant["refresh_token"]) == ("refresh_token", "refresh-1")
        assert grant["authorization"] == "Basic " + base64.b64encode(b"ramp:s3cret").decode()
        # ... and wrote the new tokens back into the kubeconfig, so the next run needs no refresh
        saved = yaml.safe_load(config.read_text())["users"][0]["user"]["auth-provider"]["config"]
        assert saved["refresh-token"] == "refresh-2"
        assert saved["id-token"].count(".") == 2 and saved["id-token"] != _expired_jwt()
        assert "via-oidc" in ramp_list(namespace, kubeconfig=config)
        assert len(issuer.requests) == 1
    finally:
        issuer.close()
