"""Where the API server is and how to authenticate: kubeconfig files and the in-cluster service account.

`load_config` follows client-go's loading order for controllers: an explicit `--kubeconfig`, else the files
in `$KUBECONFIG` (merged, first file wins per entry), else `~/.kube/config`, else the pod's service account.
The result is a `ClusterConfig` of plain values; `ssl_context()` and `auth()` turn it into what `kube.client`
hands to httpx. Certificate and key data never touch the disk except for the moment `ssl` needs a file.

Credentials, as client-go handles them: a client certificate and key (files or `-data`), `token`, `tokenFile`
(re-read every minute and at once after a 401, so a rotated token is picked up), basic auth, an `exec` plugin
(`kube.execcred`) and `auth-provider: oidc` (`kube.oidc`). A cluster's `proxy-url` (http, https, socks5) is
used for every request; without one the usual `HTTPS_PROXY`/`NO_PROXY` environment applies.

`ConfigOverrides` carries kubectl's global flags (`--server`, `--token`, `--as`, `--as-group`,
`--certificate-authority`, `--insecure-skip-tls-verify`, `--request-timeout`, `--cluster`, `--user`, ...), used
by every `ramp` verb and by `ramp controller` (upstream binds the same flags). They win over the kubeconfig,
as with kubectl. Ramp's rule for credentials: a `--token` or `--username` on the command line replaces the
kubeconfig user's credentials (client certificate included), so the request acts as the identity given.
With `--server` and no kubeconfig at all, the flags alone make the configuration.
"""

from __future__ import annotations

import base64
import importlib.util
import ipaddress
import json
import logging
import os
import ssl
import tempfile
import time
from collections.abc import Callable, Generator, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import httpx
import yaml

from ramp.kube.errors import ConfigError
from ramp.kube.execcred import EXEC_EXTENSION, ExecAuth, ExecClusterInfo, ExecConfig, parse_exec_config
from ramp.kube.oidc import OidcAuth, OidcConfig, parse_auth_provider

log = logging.getLogger(__name__)

SERVICE_ACCOUNT_DIR = Path("/var/run/secrets/kubernetes.io/serviceaccount")

# Bound service-account tokens rotate (every hour by default); client-go re-reads the file every minute.
_TOKEN_FILE_REFRESH_SECONDS = 60.0


@dataclass(frozen=True)
class ClusterConfig:
    """Connection settings for one API server, as plain values."""

    server: str
    namespace: str = "default"
    ca_data: bytes | None = None
    client_cert_data: bytes | None = None
    client_key_data: bytes | None = None
    token: str | None = None
    token_file: str | None = None
    username: str | None = None
    password: str | None = None
    insecure_skip_tls_verify: bool = False
    tls_server_name: str | None = None
    impersonate_user: str | None = None
    """`--as`: sent as `Impersonate-User`."""
    impersonate_groups: tuple[str, ...] = ()
    """`--as-group` (repeatable): sent as `Impersonate-Group`."""
    impersonate_uid: str | None = None
    request_timeout: float | None = None
    """`--request-timeout` in seconds (None: the client's default; 0: no timeout)."""
    disable_compression: bool = False
    """`--disable-compression`: ask for uncompressed responses."""
    exec_plugin: ExecConfig | None = None
    """The user's `exec` credential plugin."""
    oidc: OidcConfig | None = None
    """The user's `auth-provider: oidc`."""
    proxy_url: str | None = None
    """The cluster's `proxy-url`."""
    source: str = ""
    """Where the settings came from, for log lines (`kubeconfig /path context=x` or `in-cluster`)."""

    def impersonation_headers(self) -> dict[str, str]:
        """The `Impersonate-*` headers of `--as`/`--as-uid` (the groups need repeated headers: see the client)."""
        headers = {}
        if self.impersonate_user:
            headers["Impersonate-User"] = self.impersonate_user
        if self.impersonate_uid:
            headers["Impersonate-Uid"] = self.impersonate_uid
        return headers

    def ssl_context(self) -> ssl.SSLContext:
        """TLS trusting the configured CA (else the system store), presenting any client certificate."""
        if self.ca_data:
            ctx = ssl.create_default_context(cadata=self.ca_data.decode("ascii", "replace"))
        else:
            ctx = ssl.create_default_context()
        if self.insecure_skip_tls_verify:
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
        if self.client_cert_data and self.client_key_data:
            _load_cert_chain(ctx, self.client_cert_data, self.client_key_data)
        return ctx

    def auth(self, tls: ssl.SSLContext | None = None) -> httpx.Auth | None:
        """Bearer token (exec plugin, oidc, re-read from a file, or fixed) or basic auth; None with a client
        certificate. `tls` is the client's context, into which an exec plugin's client certificate is loaded."""
        if self.exec_plugin is not None:
            load = (lambda cert, key: _load_cert_chain(tls, cert, key)) if tls is not None else None
            return ExecAuth(self.exec_plugin, load)
        if self.oidc is not None:
            return OidcAuth(self.oidc)
        if self.token_file:
            return TokenFileAuth(self.token_file)
        if self.token:
            return BearerAuth(self.token)
        if self.username is not None and self.password is not None:
            return httpx.BasicAuth(self.username, self.password)
        return None


class BearerAuth(httpx.Auth):
    """A fixed bearer token."""

    def __init__(self, token: str) -> None:
        self._token = token

    def authorization(self) -> str:
        """The `Authorization` header to send now."""
        return f"Bearer {self._token}"

    def after_unauthorized(self, sent: str) -> str | None:
        """After a 401 for a request sent with `sent`: the header to send it again with, or None (a fixed token
        does not change)."""
        return None

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers["Authorization"] = self.authorization()
        yield request


class TokenFileAuth(httpx.Auth):
    """A bearer token read from a file, re-read every minute so rotated service-account tokens are used, and
    re-read at once when the server answers 401 (the request is then sent again if the token changed)."""

    def __init__(
        self,
        path: str,
        *,
        refresh_seconds: float = _TOKEN_FILE_REFRESH_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._path = path
        self._refresh = refresh_seconds
        self._clock = clock
        self._token = ""
        self._read_at = float("-inf")

    def authorization(self) -> str:
        """The `Authorization` header to send now (the file re-read if the last read is a minute old)."""
        now = self._clock()
        if now - self._read_at > self._refresh:
            self._read(now)
        return f"Bearer {self._token}"

    def after_unauthorized(self, sent: str) -> str | None:
        """After a 401 for a request sent with `sent`: the file is re-read; the new header if the token changed."""
        self._read(self._clock())
        changed = f"Bearer {self._token}" != sent
        log.info("token refused (401); token file re-read", extra={"path": self._path, "changed": changed})
        return f"Bearer {self._token}" if changed else None

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        sent = self.authorization()
        request.headers["Authorization"] = sent
        response = yield request
        if response.status_code == 401:
            again = self.after_unauthorized(sent)
            if again is not None:
                request.headers["Authorization"] = again
                yield request

    def _read(self, now: float) -> None:
        try:
            self._token = Path(self._path).read_text().strip()
        except OSError as err:
            if not self._token:
                raise ConfigError(f"token file {self._path} cannot be read: {err.strerror}") from err
            return  # keep the last token while the file is being swapped
        self._read_at = now


class NoClusterConfigured(ConfigError):
    """No kubeconfig file and not in a pod."""


@dataclass(frozen=True)
class ConfigOverrides:
    """kubectl's global flags; each one set wins over the kubeconfig (see the module docstring)."""

    cluster: str | None = None
    user: str | None = None
    server: str | None = None
    token: str | None = None
    username: str | None = None
    password: str | None = None
    certificate_authority: str | None = None
    client_certificate: str | None = None
    client_key: str | None = None
    insecure_skip_tls_verify: bool | None = None
    tls_server_name: str | None = None
    impersonate_user: str | None = None
    impersonate_groups: tuple[str, ...] = ()
    impersonate_uid: str | None = None
    request_timeout: float | None = None
    namespace: str | None = None
    disable_compression: bool | None = None

    def is_empty(self) -> bool:
        return self == ConfigOverrides()


def apply_overrides(config: ClusterConfig, overrides: ConfigOverrides) -> ClusterConfig:
    """`config` with every flag of `overrides` that is set in place of the kubeconfig's value."""
    changes: dict[str, Any] = {}
    o = overrides
    if o.server:
        changes["server"] = o.server.rstrip("/")
    if o.namespace:
        changes["namespace"] = o.namespace
    if o.certificate_authority:
        changes["ca_data"] = _read_flag_file("--certificate-authority", o.certificate_authority)
    if o.insecure_skip_tls_verify is not None:
        changes["insecure_skip_tls_verify"] = o.insecure_skip_tls_verify
        if o.insecure_skip_tls_verify and not o.certificate_authority:
            changes["ca_data"] = None  # kubectl refuses a CA together with insecure; the flag wins
    if o.tls_server_name:
        changes["tls_server_name"] = o.tls_server_name
    if o.token or o.username:
        # The identity given on the command line replaces the kubeconfig user's, certificate included.
        changes.update(
            token=o.token,
            token_file=None,
            username=o.username,
            password=o.password,
            client_cert_data=None,
            client_key_data=None,
            exec_plugin=None,
            oidc=None,
        )
    if o.client_certificate or o.client_key:
        if not (o.client_certificate and o.client_key):
            raise ConfigError("--client-certificate and --client-key go together; pass both")
        changes["client_cert_data"] = _read_flag_file("--client-certificate", o.client_certificate)
        changes["client_key_data"] = _read_flag_file("--client-key", o.client_key)
    if o.impersonate_user:
        changes["impersonate_user"] = o.impersonate_user
    if o.impersonate_groups:
        if not o.impersonate_user:
            raise ConfigError("--as-group needs --as: name the user to impersonate")
        changes["impersonate_groups"] = tuple(o.impersonate_groups)
    if o.impersonate_uid:
        changes["impersonate_uid"] = o.impersonate_uid
    if o.request_timeout is not None:
        changes["request_timeout"] = o.request_timeout
    if o.disable_compression is not None:
        changes["disable_compression"] = o.disable_compression
    if not changes:
        return config
    return replace(config, **changes, source=f"{config.source} (overridden by flags)".strip())


def parse_request_timeout(value: str) -> float | None:
    """kubectl's `--request-timeout`: "0" (no timeout), a number of seconds, or a duration ("1s", "2m", "1h").

    >>> parse_request_timeout("30s"), parse_request_timeout("2m"), parse_request_timeout("5")
    (30.0, 120.0, 5.0)
    """
    text = value.strip()
    if not text:
        return None
    units = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}
    for suffix in sorted(units, key=len, reverse=True):
        if text.endswith(suffix) and text[: -len(suffix)].replace(".", "", 1).isdigit():
            return float(text[: -len(suffix)]) * units[suffix]
    if text.replace(".", "", 1).isdigit():
        return float(text)
    raise ConfigError(f"--request-timeout {value!r}: use a number of seconds or a duration such as 30s, 2m or 1h")


def load_config(
    kubeconfig: str | None = None,
    *,
    context: str | None = None,
    overrides: ConfigOverrides | None = None,
    environ: Mapping[str, str] | None = None,
    home: Path | None = None,
    service_account_dir: Path | None = None,
) -> ClusterConfig:
    """Find and load the cluster settings in client-go's order (see the module docstring), then apply
    `overrides` (kubectl's global flags).

    The in-cluster files are read from `service_account_dir`, else `$RAMP_SERVICE_ACCOUNT_DIR`, else the path
    the kubelet mounts them at (the variable lets a process outside a pod run exactly as a pod would)."""
    flags = overrides or ConfigOverrides()
    env = os.environ if environ is None else environ
    if service_account_dir is None:
        service_account_dir = Path(env.get("RAMP_SERVICE_ACCOUNT_DIR") or SERVICE_ACCOUNT_DIR)
    try:
        found = _find_config(kubeconfig, context, flags, env, home, service_account_dir)
    except NoClusterConfigured:
        if not flags.server:
            raise
        # `--server` (with `--token`, ...) makes a configuration of its own, as kubectl without a kubeconfig.
        found = ClusterConfig(server=flags.server, source="command-line flags")
    return apply_overrides(found, flags)


def _find_config(
    kubeconfig: str | None,
    context: str | None,
    flags: ConfigOverrides,
    env: Mapping[str, str],
    home: Path | None,
    service_account_dir: Path,
) -> ClusterConfig:
    pick = {"context": context, "cluster": flags.cluster, "user": flags.user}
    if kubeconfig:
        path = Path(kubeconfig).expanduser()
        if not path.is_file():
            raise ConfigError(f"--kubeconfig {kubeconfig}: no such file")
        return load_kubeconfig([path], **pick)
    if env.get("KUBECONFIG"):
        existing = kubeconfig_paths(env["KUBECONFIG"])
        if existing:
            return load_kubeconfig(existing, **pick)
        if not env.get("KUBERNETES_SERVICE_HOST"):
            raise ConfigError(f"KUBECONFIG={env['KUBECONFIG']}: none of these files exists")
        # client-go: an empty merged kubeconfig inside a pod means the in-cluster configuration.
        return load_in_cluster(env, service_account_dir)
    default = (home or Path.home()) / ".kube" / "config"
    if default.is_file():
        return load_kubeconfig([default], **pick)
    if env.get("KUBERNETES_SERVICE_HOST"):
        return load_in_cluster(env, service_account_dir)
    raise NoClusterConfigured(
        "no cluster configured: pass --kubeconfig PATH, set KUBECONFIG, create ~/.kube/config, "
        "or run inside a pod (KUBERNETES_SERVICE_HOST)"
    )


def kubeconfig_paths(value: str) -> list[Path]:
    """The files of a `KUBECONFIG` list that exist, in order, each once (missing ones are skipped, as kubectl)."""
    seen: list[Path] = []
    for part in value.split(os.pathsep):
        path = Path(part).expanduser() if part else None
        if path is not None and path not in seen and path.is_file():
            seen.append(path)
    return seen


def load_kubeconfig(
    paths: Sequence[Path], *, context: str | None = None, cluster: str | None = None, user: str | None = None
) -> ClusterConfig:
    """Merge kubeconfig files (the first file wins for each named entry, as kubectl) and resolve a context;
    `cluster`/`user` (`--cluster`, `--user`) replace the context's own entries."""
    clusters: dict[str, tuple[dict[str, Any], Path]] = {}
    users: dict[str, tuple[dict[str, Any], Path]] = {}
    contexts: dict[str, dict[str, Any]] = {}
    current = ""
    for path in paths:
        doc = _read_yaml(path)
        current = current or str(doc.get("current-context") or "")
        for section, table in (("clusters", clusters), ("users", users)):
            for entry in _named_entries(doc, section, path):
                table.setdefault(entry[0], (entry[1], path))
        for name, body in _named_entries(doc, "contexts", path):
            contexts.setdefault(name, body)

    where = ", ".join(str(p) for p in paths)
    chosen = context or current
    if not chosen:
        raise ConfigError(f"kubeconfig {where}: current-context is empty; run `kubectl config use-context NAME`")
    if chosen not in contexts:
        raise ConfigError(f"kubeconfig {where}: context {chosen!r} not found (known: {sorted(contexts)})")
    ctx = contexts[chosen]
    cluster_name, user_name = cluster or str(ctx.get("cluster", "")), user or str(ctx.get("user", ""))
    if cluster_name not in clusters:
        named_by = "--cluster" if cluster else f"context {chosen!r}"
        raise ConfigError(f"kubeconfig {where}: {named_by} names cluster {cluster_name!r}, which is missing")
    cluster_entry, cluster_file = clusters[cluster_name]
    user_entry, user_file = users.get(user_name, ({}, cluster_file))
    if user_name and user_name not in users:
        named_by = "--user" if user else f"context {chosen!r}"
        raise ConfigError(f"kubeconfig {where}: {named_by} names user {user_name!r}, which is missing")
    return _cluster_config(
        where, chosen, ctx, cluster_name, cluster_entry, cluster_file, user_name, user_entry, user_file
    )


def _cluster_config(
    where: str,
    chosen: str,
    ctx: Mapping[str, Any],
    cluster_name: str,
    cluster: Mapping[str, Any],
    cluster_file: Path,
    user_name: str,
    user: Mapping[str, Any],
    user_file: Path,
) -> ClusterConfig:
    server = str(cluster.get("server") or "")
    if not server:
        raise ConfigError(f"kubeconfig {where}: cluster {cluster_name!r} has no `server`")
    if user.get("exec") and user.get("auth-provider"):
        raise ConfigError(f"kubeconfig {user_file}: user {user_name!r} sets both `exec` and `auth-provider`; keep one")
    ca_data = _data_or_file(cluster, "certificate-authority", cluster_file)
    insecure = bool(cluster.get("insecure-skip-tls-verify", False))
    proxy_url = _proxy_url(cluster, cluster_file, cluster_name)
    exec_plugin = None
    if user.get("exec"):
        exec_plugin = parse_exec_config(dict(user["exec"]), user_file, user_name)
        if exec_plugin.provide_cluster_info:
            exec_plugin = replace(
                exec_plugin,
                cluster=ExecClusterInfo(
                    server=server,
                    tls_server_name=cluster.get("tls-server-name"),
                    insecure_skip_tls_verify=insecure,
                    ca_data=ca_data,
                    proxy_url=proxy_url,
                    disable_compression=bool(cluster.get("disable-compression", False)),
                    config_json=_exec_extension(cluster),
                ),
            )
    oidc = parse_auth_provider(dict(user["auth-provider"]), user_file, user_name) if user.get("auth-provider") else None

    return ClusterConfig(
        server=server.rstrip("/"),
        namespace=str(ctx.get("namespace") or "default"),
        ca_data=ca_data,
        client_cert_data=_data_or_file(user, "client-certificate", user_file),
        client_key_data=_data_or_file(user, "client-key", user_file),
        token=str(user["token"]) if user.get("token") else None,
        token_file=_token_file(user, user_file),
        username=user.get("username"),
        password=user.get("password"),
        insecure_skip_tls_verify=insecure,
        tls_server_name=cluster.get("tls-server-name"),
        exec_plugin=exec_plugin,
        oidc=oidc,
        proxy_url=proxy_url,
        source=f"kubeconfig {where} context={chosen}",
    )


def load_in_cluster(environ: Mapping[str, str], service_account_dir: Path = SERVICE_ACCOUNT_DIR) -> ClusterConfig:
    """Settings for a controller running in a pod: the service host/port, the mounted token and CA."""
    host, port = environ.get("KUBERNETES_SERVICE_HOST", ""), environ.get("KUBERNETES_SERVICE_PORT", "443")
    if not host:
        raise ConfigError("in-cluster: KUBERNETES_SERVICE_HOST is not set (not running in a pod?)")
    token_file = service_account_dir / "token"
    if not token_file.is_file():
        raise ConfigError(f"in-cluster: {token_file} is missing; is automountServiceAccountToken false?")
    if _is_ipv6(host):
        host = f"[{host}]"
    ca_file = service_account_dir / "ca.crt"
    return ClusterConfig(
        server=f"https://{host}:{port}",
        namespace=service_account_namespace(service_account_dir) or "default",
        ca_data=ca_file.read_bytes() if ca_file.is_file() else None,
        token_file=str(token_file),
        source="in-cluster",
    )


def service_account_namespace(service_account_dir: Path = SERVICE_ACCOUNT_DIR) -> str | None:
    """The namespace of the pod's service account, or None outside a pod."""
    path = service_account_dir / "namespace"
    try:
        return path.read_text().strip() or None
    except OSError:
        return None


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        doc = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as err:
        raise ConfigError(f"kubeconfig {path}: cannot read: {err}") from err
    if doc is None:
        return {}
    if not isinstance(doc, dict):
        raise ConfigError(f"kubeconfig {path}: expected a mapping at the top level")
    return doc


def _named_entries(doc: Mapping[str, Any], section: str, path: Path) -> list[tuple[str, dict[str, Any]]]:
    """`clusters: [{name: x, cluster: {...}}]` → [(x, {...})]; the inner key is the section name minus `s`."""
    inner = section[:-1]
    entries = []
    for item in doc.get(section) or []:
        if not isinstance(item, dict) or "name" not in item:
            raise ConfigError(f"kubeconfig {path}: every entry of `{section}` needs a `name`")
        entries.append((str(item["name"]), dict(item.get(inner) or {})))
    return entries


def _data_or_file(entry: Mapping[str, Any], field: str, origin: Path) -> bytes | None:
    """`<field>-data` (base64) wins over `<field>` (a path, relative to the kubeconfig that names it)."""
    data = entry.get(f"{field}-data")
    if data:
        try:
            return base64.b64decode(str(data), validate=True)
        except ValueError as err:
            raise ConfigError(f"kubeconfig {origin}: `{field}-data` is not valid base64") from err
    file = entry.get(field)
    if not file:
        return None
    path = Path(str(file)).expanduser()
    if not path.is_absolute():
        path = origin.parent / path
    try:
        return path.read_bytes()
    except OSError as err:
        raise ConfigError(f"kubeconfig {origin}: `{field}: {file}` cannot be read: {err.strerror}") from err


def _token_file(user: Mapping[str, Any], origin: Path) -> str | None:
    """`tokenFile` as an absolute path (relative to the kubeconfig naming it), checked readable now; it is
    re-read while running (see `TokenFileAuth`)."""
    token_file = user.get("tokenFile")
    if not token_file:
        return None
    path = Path(str(token_file)).expanduser()
    if not path.is_absolute():
        path = origin.parent / path
    try:
        path.read_text()
    except OSError as err:
        raise ConfigError(f"kubeconfig {origin}: `tokenFile: {token_file}` cannot be read: {err.strerror}") from err
    return str(path)


def _proxy_url(cluster: Mapping[str, Any], origin: Path, name: str) -> str | None:
    value = cluster.get("proxy-url")
    if not value:
        return None
    url = httpx.URL(str(value))
    if url.scheme not in ("http", "https", "socks5") or not url.host:
        raise ConfigError(
            f"kubeconfig {origin}: cluster {name!r} proxy-url {value!r}: use http://, https:// or socks5://HOST:PORT"
        )
    if url.scheme == "socks5" and importlib.util.find_spec("socksio") is None:
        raise ConfigError(
            f"kubeconfig {origin}: cluster {name!r} proxy-url {value!r} needs SOCKS support: pip install socksio"
        )
    return str(value)


def _exec_extension(cluster: Mapping[str, Any]) -> str | None:
    """The cluster's `extensions` entry named client.authentication.k8s.io/exec (handed to exec plugins)."""
    for item in cluster.get("extensions") or []:
        if isinstance(item, Mapping) and item.get("name") == EXEC_EXTENSION:
            return json.dumps(item.get("extension"))
    return None


def _load_cert_chain(ctx: ssl.SSLContext, cert: bytes, key: bytes) -> None:
    """Load a client certificate into `ctx` (again after a rotation: new connections present the new one)."""
    # `ssl` only loads certificates from files: write them to a private directory and remove it at once.
    with tempfile.TemporaryDirectory(prefix="ramp-tls-") as tmp:
        cert_path, key_path = Path(tmp, "client.crt"), Path(tmp, "client.key")
        for path, data in ((cert_path, cert), (key_path, key)):
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as out:
                out.write(data)
        try:
            ctx.load_cert_chain(cert_path, key_path)
        except ssl.SSLError as err:
            raise ConfigError(f"client certificate/key do not load: {err}") from err


def _read_flag_file(flag: str, path: str) -> bytes:
    try:
        return Path(path).expanduser().read_bytes()
    except OSError as err:
        raise ConfigError(f"{flag} {path}: cannot be read: {err.strerror}") from err


def _is_ipv6(host: str) -> bool:
    try:
        return isinstance(ipaddress.ip_address(host), ipaddress.IPv6Address)
    except ValueError:
        return False
