"""kubectl's global flags anywhere on a `ramp` command line, unless the command defines the flag itself."""

from __future__ import annotations

import pytest

from ramp.cli.globalflags import GlobalFlags, set_global_flags, split_global_flags
from ramp.cli.main import command_options, prepare
from ramp.kube.errors import ConfigError


@pytest.fixture(autouse=True)
def _reset():
    yield
    set_global_flags(GlobalFlags())


def test_flags_before_and_after_the_verb_are_taken_out() -> None:
    rest, flags = split_global_flags(
        [
            "--server",
            "https://api",
            "get",
            "rollout",
            "web",
            "--token=t",
            "--as",
            "a",
            "--as-group=g1",
            "--as-group",
            "g2",
        ]
    )
    assert rest == ["get", "rollout", "web"]
    o = flags.overrides
    assert (o.server, o.token, o.impersonate_user, o.impersonate_groups) == ("https://api", "t", "a", ("g1", "g2"))


@pytest.mark.parametrize("spelling", [["-v", "6"], ["-v=6"], ["-v6"], ["--v=6"]])
def test_verbosity_takes_kubectls_spellings(spelling: list[str]) -> None:
    assert split_global_flags(["version", *spelling])[1].verbosity == 6


def test_booleans_alone_or_with_a_value() -> None:
    _, flags = split_global_flags(["--insecure-skip-tls-verify", "version"])
    assert flags.overrides.insecure_skip_tls_verify is True
    _, flags = split_global_flags(["--insecure-skip-tls-verify=false", "version"])
    assert flags.overrides.insecure_skip_tls_verify is False


def test_a_flag_the_command_defines_keeps_its_own_meaning() -> None:
    assert "--token" in command_options(["dashboard", "-n", "x"])
    rest = prepare(["dashboard", "--token", "dashboard-secret", "--as", "alice"])
    assert rest == ["dashboard", "--token", "dashboard-secret"]
    assert prepare(["get", "rollout", "web", "-n", "team"]) == ["get", "rollout", "web", "-n", "team"]


def test_nothing_after_a_double_dash_is_touched() -> None:
    rest, flags = split_global_flags(["lint", "--", "--token", "x"])
    assert rest == ["lint", "--", "--token", "x"] and flags.overrides.token is None


@pytest.mark.parametrize("argv", [["--token"], ["-v", "loud"], ["--request-timeout", "soon"]])
def test_bad_values_are_refused_naming_the_flag(argv: list[str]) -> None:
    with pytest.raises(ConfigError, match=argv[0]):
        split_global_flags(argv)
