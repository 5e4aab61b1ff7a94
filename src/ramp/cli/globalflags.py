"""kubectl's global flags on every `ramp` command: `--as`, `--as-group`, `--token`, `--server`, `-v`, ...

kubectl (and so `kubectl argo rollouts`) accepts its global flags before or after the verb. `split_global_flags`
takes them out of the command line wherever they stand, before typer parses it, and returns them as
`GlobalFlags`; `ramp.cli.main` stores them with `set_global_flags`, and `ramp.cli.kubeargs.load_cluster` and
`ramp controller` build the client configuration from them (`ramp.kube.config.ConfigOverrides`).

A flag the command itself defines keeps its own meaning: `ramp dashboard --token` is the dashboard's bearer
token, and `-n/--namespace`, `--kubeconfig`, `--context` stay the per-command options they already are. The
caller passes the command's own option names (`own_options`) for that.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from ramp.kube.config import ConfigOverrides, parse_request_timeout
from ramp.kube.errors import ConfigError

_TRUE, _FALSE = ("1", "t", "true", "yes"), ("0", "f", "false", "no")


@dataclass(frozen=True)
class GlobalFlags:
    """kubectl's global flags of one command line."""

    kubeconfig: str | None = None
    context: str | None = None
    overrides: ConfigOverrides = field(default_factory=ConfigOverrides)
    verbosity: int = 0


def _text(name: str) -> Callable[[GlobalFlags, str], GlobalFlags]:
    def set_text(flags: GlobalFlags, value: str) -> GlobalFlags:
        changes: dict[str, Any] = {name: value}
        return replace(flags, overrides=replace(flags.overrides, **changes))

    return set_text


def _groups(flags: GlobalFlags, value: str) -> GlobalFlags:
    groups = (*flags.overrides.impersonate_groups, value)
    return replace(flags, overrides=replace(flags.overrides, impersonate_groups=groups))


def _insecure(flags: GlobalFlags, value: str) -> GlobalFlags:
    lowered = value.lower()
    if lowered not in (*_TRUE, *_FALSE):
        raise ConfigError(f"--insecure-skip-tls-verify={value}: use true or false")
    return replace(flags, overrides=replace(flags.overrides, insecure_skip_tls_verify=lowered in _TRUE))


def _disable_compression(flags: GlobalFlags, value: str) -> GlobalFlags:
    lowered = value.lower()
    if lowered not in (*_TRUE, *_FALSE):
        raise ConfigError(f"--disable-compression={value}: use true or false")
    return replace(flags, overrides=replace(flags.overrides, disable_compression=lowered in _TRUE))


def _timeout(flags: GlobalFlags, value: str) -> GlobalFlags:
    return replace(flags, overrides=replace(flags.overrides, request_timeout=parse_request_timeout(value)))


def _verbosity(flags: GlobalFlags, value: str) -> GlobalFlags:
    if not value.isdigit():
        raise ConfigError(f"-v {value}: the log level is a number (kubectl's 0-10)")
    return replace(flags, verbosity=int(value))


_VALUE_FLAGS: dict[str, Callable[[GlobalFlags, str], GlobalFlags]] = {
    "--as": _text("impersonate_user"),
    "--as-group": _groups,
    "--as-uid": _text("impersonate_uid"),
    "--token": _text("token"),
    "--server": _text("server"),
    "-s": _text("server"),
    "--certificate-authority": _text("certificate_authority"),
    "--client-certificate": _text("client_certificate"),
    "--client-key": _text("client_key"),
    "--tls-server-name": _text("tls_server_name"),
    "--cluster": _text("cluster"),
    "--user": _text("user"),
    "--username": _text("username"),
    "--password": _text("password"),
    "--request-timeout": _timeout,
    "--namespace": _text("namespace"),
    "-n": _text("namespace"),
    "--kubeconfig": lambda flags, value: replace(flags, kubeconfig=value),
    "--context": lambda flags, value: replace(flags, context=value),
    "-v": _verbosity,
    "--v": _verbosity,
}
"""Flags that take a value (`--flag VALUE` or `--flag=VALUE`)."""
_BOOL_FLAGS: dict[str, Callable[[GlobalFlags, str], GlobalFlags]] = {
    "--insecure-skip-tls-verify": _insecure,
    "--disable-compression": _disable_compression,
}
"""Go-style booleans: `--flag` alone is true, `--flag=false` false."""
GLOBAL_FLAG_NAMES = (*_VALUE_FLAGS, *_BOOL_FLAGS)


def split_global_flags(args: Sequence[str], own_options: frozenset[str] = frozenset()) -> tuple[list[str], GlobalFlags]:
    """Take kubectl's global flags out of `args` (before or after the verb; none after `--`).

    >>> rest, flags = split_global_flags(["get", "rollout", "web", "--as=alice", "--as-group", "dev", "-v=6"])
    >>> rest, flags.overrides.impersonate_user, flags.overrides.impersonate_groups, flags.verbosity
    (['get', 'rollout', 'web'], 'alice', ('dev',), 6)
    """
    flags = GlobalFlags()
    rest: list[str] = []
    index = 0
    while index < len(args):
        arg = args[index]
        index += 1
        if arg == "--":
            rest.extend(args[index - 1 :])
            break
        name, sep, value = arg.partition("=")
        if name.startswith("-v") and not name.startswith("--") and name[2:].isdigit() and not sep:
            name, sep, value = "-v", "=", name[2:]  # `-v6`
        if name in own_options:
            rest.append(arg)
        elif name in _VALUE_FLAGS:
            if not sep:
                if index >= len(args):
                    raise ConfigError(f"{name} needs a value")
                value = args[index]
                index += 1
            flags = _VALUE_FLAGS[name](flags, value)
        elif name in _BOOL_FLAGS:
            flags = _BOOL_FLAGS[name](flags, value if sep else "true")
        else:
            rest.append(arg)
    return rest, flags


_current: list[GlobalFlags] = [GlobalFlags()]  # one command line per process: a single slot


def set_global_flags(flags: GlobalFlags) -> None:
    """Record this process's global flags (`ramp.cli.main` does, once per command line)."""
    _current[0] = flags
    configure_verbosity(flags.verbosity)


def global_flags() -> GlobalFlags:
    """The global flags of this command line (none set: the defaults)."""
    return _current[0]


def configure_verbosity(level: int) -> None:
    """kubectl's `-v`: 6 and up log every API request (method, URL, status) on stderr; 8 and up add ramp's
    debug lines. Below 6 nothing changes."""
    if level < 6:
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(message)s"))
    for name, threshold in (("httpx", logging.INFO), ("ramp", logging.DEBUG if level >= 8 else logging.INFO)):
        logger = logging.getLogger(name)
        logger.addHandler(handler)
        logger.setLevel(threshold)
