"""kubeconfig `exec` credential plugins (client.authentication.k8s.io v1 and v1beta1), run as client-go runs them.

A user entry `exec: {command, args, env, apiVersion, interactiveMode, provideClusterInfo, installHint}` names a
program that prints an `ExecCredential` on stdout: a bearer `token`, or a client certificate and key, and an
optional `expirationTimestamp`. Ramp runs it the way client-go does:

- the environment is Ramp's own plus the entry's `env`, and `KUBERNETES_EXEC_INFO` holds an `ExecCredential`
  with `spec.interactive` and, with `provideClusterInfo: true`, `spec.cluster` (server, CA data, the cluster's
  `client.authentication.k8s.io/exec` extension as `config`, ...);
- stderr goes to Ramp's stderr; stdin is the terminal's only when `interactiveMode` allows it and one is there
  (`Always` without a terminal is refused; v1 requires `interactiveMode`, v1beta1 defaults to `IfAvailable`);
- a non-zero exit, a missing command (with the entry's `installHint`), bad JSON, a wrong `apiVersion`/`kind`,
  no token and no certificate, half a certificate/key pair or an unreadable timestamp each raise a named error;
- the credential is cached until `expirationTimestamp` (forever without one) and shared by every request of the
  process for the same plugin and cluster; a 401 drops it once (unless a newer one already replaced it) and the
  request is sent again with a fresh one;
- the plugin runs as an asyncio subprocess (the event loop never blocks) with a timeout, and concurrent requests
  wait for the one run in progress instead of starting their own.

`parse_exec_credential` and `exec_info` are pure; `ExecAuth` is the httpx auth that runs the plugin.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import os
import shutil
import sys
import time
from collections.abc import AsyncGenerator, Callable, Generator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx

from ramp.kube.errors import ConfigError, CredentialError

log = logging.getLogger(__name__)

API_VERSIONS = ("client.authentication.k8s.io/v1", "client.authentication.k8s.io/v1beta1")
INTERACTIVE_MODES = ("Never", "IfAvailable", "Always")
EXEC_EXTENSION = "client.authentication.k8s.io/exec"
# A plugin that does not answer in this long is killed (an interactive login gets longer).
DEFAULT_EXEC_TIMEOUT = 60.0
INTERACTIVE_EXEC_TIMEOUT = 300.0
_EXEC_FIELDS = {"command", "args", "env", "apiVersion", "interactiveMode", "provideClusterInfo", "installHint"}


class ExecPluginError(ConfigError):
    """The exec credential plugin is misconfigured, failed, or printed something that is not a credential."""


class ExecCredentialInvalid(ExecPluginError):
    """The plugin's stdout is not a valid ExecCredential for the apiVersion the kubeconfig asked for."""


class ExecPluginFailed(ExecPluginError):
    """The plugin could not be started, exited non-zero, or did not answer in time."""


@dataclass(frozen=True)
class ExecClusterInfo:
    """What `provideClusterInfo: true` hands the plugin (`spec.cluster` of KUBERNETES_EXEC_INFO)."""

    server: str
    tls_server_name: str | None = None
    insecure_skip_tls_verify: bool = False
    ca_data: bytes | None = None
    proxy_url: str | None = None
    disable_compression: bool = False
    config_json: str | None = None
    """The cluster's `client.authentication.k8s.io/exec` extension, as JSON text."""


@dataclass(frozen=True)
class ExecConfig:
    """One kubeconfig user's `exec` entry, validated."""

    command: str
    api_version: str
    args: tuple[str, ...] = ()
    env: tuple[tuple[str, str], ...] = ()
    interactive_mode: str = "IfAvailable"
    provide_cluster_info: bool = False
    install_hint: str = ""
    cluster: ExecClusterInfo | None = None
    timeout: float = DEFAULT_EXEC_TIMEOUT


@dataclass(frozen=True)
class ExecCredential:
    """What a plugin handed out: a token and/or a client certificate, valid until `expires` (epoch seconds)."""

    token: str | None = None
    client_cert_data: bytes | None = None
    client_key_data: bytes | None = None
    expires: float | None = None
    obtained: float = field(default=0.0, compare=False)

    def expired(self, now: float) -> bool:
        return self.expires is not None and now >= self.expires


def parse_exec_config(entry: Mapping[str, Any], origin: Path, user: str) -> ExecConfig:
    """Validate a kubeconfig user's `exec` mapping; a relative command with a `/` is relative to `origin`'s folder."""
    where = f"kubeconfig {origin}: user {user!r} exec"
    unknown = sorted(set(entry) - _EXEC_FIELDS)
    if unknown:
        raise ExecPluginError(f"{where}: unknown field(s) {unknown}; known: {sorted(_EXEC_FIELDS)}")
    command = str(entry.get("command") or "")
    if not command:
        raise ExecPluginError(f"{where}: `command` is required")
    if os.sep in command and not Path(command).is_absolute():
        command = str(origin.parent / command)
    api_version = str(entry.get("apiVersion") or "")
    if api_version not in API_VERSIONS:
        raise ExecPluginError(
            f"{where}: apiVersion {api_version!r} is not supported; use one of {list(API_VERSIONS)} "
            "(client.authentication.k8s.io/v1alpha1 was removed from Kubernetes)"
        )
    mode = entry.get("interactiveMode")
    if not mode:
        if api_version.endswith("/v1"):
            raise ExecPluginError(
                f"{where}: `interactiveMode` is required for {api_version}; set Never, IfAvailable or Always"
            )
        mode = "IfAvailable"
    if mode not in INTERACTIVE_MODES:
        raise ExecPluginError(f"{where}: interactiveMode {mode!r} is not one of {list(INTERACTIVE_MODES)}")
    env = []
    for item in entry.get("env") or []:
        if not isinstance(item, Mapping) or not item.get("name") or "value" not in item:
            raise ExecPluginError(f"{where}: every `env` entry needs a `name` and a `value`")
        env.append((str(item["name"]), str(item["value"])))
    args = entry.get("args") or []
    if not isinstance(args, list):
        raise ExecPluginError(f"{where}: `args` must be a list of strings")
    provide = entry.get("provideClusterInfo", False)
    if not isinstance(provide, bool):
        raise ExecPluginError(f"{where}: `provideClusterInfo` must be true or false")
    return ExecConfig(
        command=command,
        api_version=api_version,
        args=tuple(str(a) for a in args),
        env=tuple(env),
        interactive_mode=str(mode),
        provide_cluster_info=provide,
        install_hint=str(entry.get("installHint") or ""),
    )


def exec_info(config: ExecConfig, *, interactive: bool) -> str:
    """The KUBERNETES_EXEC_INFO value: an ExecCredential whose spec tells the plugin how it runs and where to."""
    spec: dict[str, Any] = {"interactive": interactive}
    if config.provide_cluster_info and config.cluster is not None:
        c = config.cluster
        cluster: dict[str, Any] = {"server": c.server}
        if c.tls_server_name:
            cluster["tls-server-name"] = c.tls_server_name
        if c.insecure_skip_tls_verify:
            cluster["insecure-skip-tls-verify"] = True
        if c.ca_data:
            cluster["certificate-authority-data"] = base64.b64encode(c.ca_data).decode()
        if c.proxy_url:
            cluster["proxy-url"] = c.proxy_url
        if c.disable_compression:
            cluster["disable-compression"] = True
        if c.config_json:
            cluster["config"] = json.loads(c.config_json)
        spec["cluster"] = cluster
    return json.dumps({"apiVersion": config.api_version, "kind": "ExecCredential", "spec": spec})


def parse_exec_credential(stdout: bytes, api_version: str, *, now: float | None = None) -> ExecCredential:
    """Validate a plugin's stdout as client-go does; every refusal names what is wrong."""
    try:
        doc = json.loads(stdout)
    except ValueError as err:
        raise ExecCredentialInvalid(
            f"exec plugin: stdout is not JSON ({err}); it must print an ExecCredential"
        ) from err
    if not isinstance(doc, dict):
        raise ExecCredentialInvalid("exec plugin: stdout must be an ExecCredential object")
    if doc.get("kind") != "ExecCredential":
        raise ExecCredentialInvalid(f"exec plugin: kind is {doc.get('kind')!r}, expected 'ExecCredential'")
    if doc.get("apiVersion") != api_version:
        raise ExecCredentialInvalid(
            f"exec plugin: apiVersion is {doc.get('apiVersion')!r}, but the kubeconfig asked for {api_version!r}"
        )
    status = doc.get("status")
    if not isinstance(status, dict):
        raise ExecCredentialInvalid("exec plugin: ExecCredential has no `status`")
    token = status.get("token") or None
    cert = status.get("clientCertificateData") or None
    key = status.get("clientKeyData") or None
    if bool(cert) != bool(key):
        raise ExecCredentialInvalid(
            "exec plugin: status.clientCertificateData and status.clientKeyData must both be set, or neither"
        )
    if not token and not cert:
        raise ExecCredentialInvalid("exec plugin: status has neither a `token` nor a client certificate and key")
    expires = None
    stamp = status.get("expirationTimestamp")
    if stamp:
        try:
            expires = datetime.fromisoformat(str(stamp).replace("Z", "+00:00")).timestamp()
        except ValueError as err:
            raise ExecCredentialInvalid(
                f"exec plugin: status.expirationTimestamp {stamp!r} is not an RFC 3339 time"
            ) from err
    return ExecCredential(
        token=str(token) if token else None,
        client_cert_data=str(cert).encode() if cert else None,
        client_key_data=str(key).encode() if key else None,
        expires=expires,
        obtained=time.time() if now is None else now,
    )


def plugin_environment(config: ExecConfig, base: Mapping[str, str], *, interactive: bool) -> dict[str, str]:
    """The plugin's environment: `base` (Ramp's), then the entry's `env`, then KUBERNETES_EXEC_INFO."""
    env = dict(base)
    env.update(config.env)
    env["KUBERNETES_EXEC_INFO"] = exec_info(config, interactive=interactive)
    return env


def runs_interactively(config: ExecConfig, stdin_is_terminal: bool) -> bool:
    """Whether the plugin gets the terminal; `Always` without one is an error, as in client-go."""
    if config.interactive_mode == "Never":
        return False
    if config.interactive_mode == "Always" and not stdin_is_terminal:
        raise ExecPluginError(
            f"exec plugin {config.command}: interactiveMode is Always but stdin is not a terminal; "
            "run the command in a terminal or set interactiveMode: IfAvailable"
        )
    return stdin_is_terminal


async def run_plugin(config: ExecConfig) -> ExecCredential:
    """Run the plugin once (asyncio subprocess, killed after `config.timeout`) and parse what it printed."""
    interactive = runs_interactively(config, _stdin_is_terminal())
    limit = max(config.timeout, INTERACTIVE_EXEC_TIMEOUT) if interactive else config.timeout
    if shutil.which(config.command) is None:
        hint = f"; {config.install_hint}" if config.install_hint else ""
        raise ExecPluginFailed(f"exec plugin: command {config.command!r} not found or not executable{hint}")
    try:
        proc = await asyncio.create_subprocess_exec(
            config.command,
            *config.args,
            env=plugin_environment(config, os.environ, interactive=interactive),
            stdin=None if interactive else asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=None,
        )
    except OSError as err:
        raise ExecPluginFailed(f"exec plugin {config.command}: cannot start: {err.strerror}") from err
    try:
        stdout, _ = await asyncio.wait_for(proc.communicate(), limit)
    except TimeoutError:
        proc.kill()
        await proc.wait()
        raise ExecPluginFailed(f"exec plugin {config.command}: no answer after {limit:g}s; killed") from None
    if proc.returncode != 0:
        raise ExecPluginFailed(f"exec plugin {config.command}: exited with code {proc.returncode}")
    return parse_exec_credential(stdout, config.api_version)


def _stdin_is_terminal() -> bool:
    try:
        return sys.stdin is not None and sys.stdin.isatty()
    except ValueError:
        return False


# One credential per plugin and cluster for the whole process, as client-go's authenticator cache.
_CACHE: dict[ExecConfig, ExecCredential] = {}


# One lock per plugin and cluster (and event loop): every client of the process waits for the same run.
_LOCKS: dict[ExecConfig, tuple[asyncio.AbstractEventLoop, asyncio.Lock]] = {}


def _lock_for(config: ExecConfig) -> asyncio.Lock:
    loop = asyncio.get_running_loop()
    held = _LOCKS.get(config)
    if held is None or held[0] is not loop:
        held = _LOCKS[config] = (loop, asyncio.Lock())
    return held[1]


def forget_cached_credentials() -> None:
    """Drop every cached plugin credential (tests; a process that switches identities)."""
    _CACHE.clear()
    _LOCKS.clear()


class ExecAuth(httpx.Auth):
    """Bearer token from an exec plugin: cached until it expires, one run shared by concurrent requests,
    dropped once on a 401 and the request sent again. A plugin that hands out a client certificate instead
    has it loaded into `tls` (the client's SSL context) before the request goes out."""

    def __init__(self, config: ExecConfig, load_cert: Callable[[bytes, bytes], None] | None = None) -> None:
        self._config = config
        self._load_cert = load_cert
        self._loaded_cert: ExecCredential | None = None
        self.runs = 0

    def sync_auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        raise ExecPluginError("exec credential plugins are run by Ramp's async client only")
        yield request  # pragma: no cover

    async def async_auth_flow(self, request: httpx.Request) -> AsyncGenerator[httpx.Request, httpx.Response]:
        credential = await self._credential_for(request)
        self._apply(request, credential)
        response = yield request
        if response.status_code == 401:
            log.info(
                "exec plugin credential refused (401); running the plugin again", extra={"plugin": self._config.command}
            )
            self.invalidate(credential)
            self._apply(request, await self._credential_for(request))
            yield request

    async def _credential_for(self, request: httpx.Request) -> ExecCredential:
        try:
            return await self.credential()
        except ConfigError as err:
            raise CredentialError(str(err), request=request) from err

    async def credential(self) -> ExecCredential:
        cached = _CACHE.get(self._config)
        if cached is not None and not cached.expired(time.time()):
            return cached
        async with _lock_for(self._config):
            cached = _CACHE.get(self._config)
            if cached is None or cached.expired(time.time()):
                cached = await run_plugin(self._config)
                self.runs += 1
                log.debug("exec plugin ran", extra={"plugin": self._config.command, "expires": cached.expires})
                _CACHE[self._config] = cached
            return cached

    def invalidate(self, used: ExecCredential) -> None:
        """Drop `used` after a 401 unless another request already replaced it."""
        if _CACHE.get(self._config) is used:
            del _CACHE[self._config]

    def _apply(self, request: httpx.Request, credential: ExecCredential) -> None:
        if credential.token:
            request.headers["Authorization"] = f"Bearer {credential.token}"
        elif credential.client_cert_data and credential.client_key_data:
            if self._load_cert is None:
                raise ExecPluginError("exec plugin handed out a client certificate, which this client cannot present")
            if self._loaded_cert is not credential:
                self._load_cert(credential.client_cert_data, credential.client_key_data)
                self._loaded_cert = credential
