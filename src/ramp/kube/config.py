"""Where the API server is and how to authenticate: kubeconfig files and the in-cluster service account.

`load_config` follows client-go's loading order for controllers: an explicit `--kubeconfig`, else the files
in `$KUBECONFIG` (merged, first file wins per entry), else `~/.kube/config`, else the pod's service account.
The result is a `ClusterConfig` of plain values; `ssl_context()` and `auth()` turn it into what `kube.client`
hands to httpx. Certificate and key data never touch the disk except for the moment `ssl` needs a file.
"""

from __future__ import annotations

import base64
import ipaddress
import os
import ssl
import tempfile
import time
from collections.abc import Generator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import yaml

from ramp.kube.errors import ConfigError

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
    source: str = ""
    """Where the settings came from, for log lines (`kubeconfig /path context=x` or `in-cluster`)."""

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

    def auth(self) -> httpx.Auth | None:
        """Bearer token (fixed, or re-read from a file) or basic auth; None with a client certificate."""
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

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers["Authorization"] = f"Bearer {self._token}"
        yield request


class TokenFileAuth(httpx.Auth):
    """A bearer token read from a file, re-read every minute so rotated service-account tokens are used."""

    def __init__(self, path: str) -> None:
        self._path = path
        self._token = ""
        self._read_at = float("-inf")

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        now = time.monotonic()
        if now - self._read_at > _TOKEN_FILE_REFRESH_SECONDS:
            self._token = Path(self._path).read_text().strip()
            self._read_at = now
        request.headers["Authorization"] = f"Bearer {self._token}"
        yield request


def load_config(
    kubeconfig: str | None = None,
    *,
    context: str | None = None,
    environ: Mapping[str, str] | None = None,
    home: Path | None = None,
    service_account_dir: Path = SERVICE_ACCOUNT_DIR,
) -> ClusterConfig:
    """Find and load the cluster settings in client-go's order (see the module docstring)."""
    env = os.environ if environ is None else environ
    if kubeconfig:
        path = Path(kubeconfig).expanduser()
        if not path.is_file():
            raise ConfigError(f"--kubeconfig {kubeconfig}: no such file")
        return load_kubeconfig([path], context=context)
    if env.get("KUBECONFIG"):
        paths = [Path(p).expanduser() for p in env["KUBECONFIG"].split(os.pathsep) if p]
        existing = [p for p in paths if p.is_file()]
        if not existing:
            raise ConfigError(f"KUBECONFIG={env['KUBECONFIG']}: none of these files exists")
        return load_kubeconfig(existing, context=context)
    default = (home or Path.home()) / ".kube" / "config"
    if default.is_file():
        return load_kubeconfig([default], context=context)
    if env.get("KUBERNETES_SERVICE_HOST"):
        return load_in_cluster(env, service_account_dir)
    raise ConfigError(
        "no cluster configured: pass --kubeconfig PATH, set KUBECONFIG, create ~/.kube/config, "
        "or run inside a pod (KUBERNETES_SERVICE_HOST)"
    )


def load_kubeconfig(paths: Sequence[Path], *, context: str | None = None) -> ClusterConfig:
    """Merge kubeconfig files (the first file wins for each named entry, as kubectl) and resolve a context."""
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
    cluster_name, user_name = str(ctx.get("cluster", "")), str(ctx.get("user", ""))
    if cluster_name not in clusters:
        raise ConfigError(f"kubeconfig {where}: context {chosen!r} names cluster {cluster_name!r}, which is missing")
    cluster, cluster_file = clusters[cluster_name]
    user, user_file = users.get(user_name, ({}, cluster_file))
    if user_name and user_name not in users:
        raise ConfigError(f"kubeconfig {where}: context {chosen!r} names user {user_name!r}, which is missing")
    for unsupported in ("exec", "auth-provider"):
        if user.get(unsupported):
            raise ConfigError(
                f"kubeconfig {where}: user {user_name!r} uses `{unsupported}`, which Ramp does not run; "
                "use a client certificate or a token"
            )
    server = str(cluster.get("server") or "")
    if not server:
        raise ConfigError(f"kubeconfig {where}: cluster {cluster_name!r} has no `server`")

    return ClusterConfig(
        server=server.rstrip("/"),
        namespace=str(ctx.get("namespace") or "default"),
        ca_data=_data_or_file(cluster, "certificate-authority", cluster_file),
        client_cert_data=_data_or_file(user, "client-certificate", user_file),
        client_key_data=_data_or_file(user, "client-key", user_file),
        token=_token(user, user_file),
        username=user.get("username"),
        password=user.get("password"),
        insecure_skip_tls_verify=bool(cluster.get("insecure-skip-tls-verify", False)),
        tls_server_name=cluster.get("tls-server-name"),
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


def _token(user: Mapping[str, Any], origin: Path) -> str | None:
    if user.get("token"):
        return str(user["token"])
    token_file = user.get("tokenFile")
    if not token_file:
        return None
    path = Path(str(token_file)).expanduser()
    if not path.is_absolute():
        path = origin.parent / path
    try:
        return path.read_text().strip()
    except OSError as err:
        raise ConfigError(f"kubeconfig {origin}: `tokenFile: {token_file}` cannot be read: {err.strerror}") from err


def _load_cert_chain(ctx: ssl.SSLContext, cert: bytes, key: bytes) -> None:
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


def _is_ipv6(host: str) -> bool:
    try:
        return isinstance(ipaddress.ip_address(host), ipaddress.IPv6Address)
    except ValueError:
        return False
