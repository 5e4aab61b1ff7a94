"""Every flag of upstream's rollouts-controller (v1.10) parses in `ramp controller`; the ones Ramp honours
reach `ManagerOptions`; the others are named in one notice. No cluster: `run_controller` is replaced."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import pytest
from typer.testing import CliRunner

from ramp.cli import controller as controller_module
from ramp.cli.controller_flags import IGNORED_FLAGS
from ramp.cli.globalflags import GlobalFlags, global_flags, set_global_flags
from ramp.cli.main import app, prepare
from ramp.kube.config import ClusterConfig
from ramp.manager import ManagerOptions

# Upstream's cmd/rollouts-controller flags with a sample value each (None: a boolean given alone), and the
# client-go override flags it binds (`clientcmd.BindOverrideFlags`).
UPSTREAM_FLAGS: dict[str, str | None] = {
    "--rollout-resync": "600",
    "--namespaced": None,
    "--loglevel": "debug",
    "--logformat": "json",
    "--kloglevel": "4",
    "--metricsPort": "9001",
    "--metricsport": "9001",
    "--healthzPort": "9002",
    "--instance-id": "blue",
    "--qps": "20",
    "--burst": "40",
    "--rollout-threads": "3",
    "--experiment-threads": "4",
    "--analysis-threads": "5",
    "--service-threads": "2",
    "--ingress-threads": "2",
    "--ephemeral-metadata-threads": "2",
    "--ephemeral-metadata-update-pod-retries": "3",
    "--aws-target-group-binding-api-version": "elbv2.k8s.aws/v1beta1",
    "--alb-tag-key-resource-id": "ingress.k8s.aws/resource",
    "--istio-api-version": "v1beta1",
    "--ambassador-api-version": "getambassador.io/v3alpha1",
    "--apisix-api-version": "apisix.apache.org/v2",
    "--traffic-split-api-version": "v1alpha2",
    "--traefik-api-group": "traefik.io",
    "--traefik-api-version": "traefik.io/v1alpha1",
    "--ingress-api-version": "networking.k8s.io/v1",
    "--appmesh-crd-version": "v1beta2",
    "--alb-ingress-classes": "alb",
    "--nginx-ingress-classes": "nginx",
    "--alb-verify-weight": None,
    "--aws-verify-target-group": None,
    "--leader-elect": "true",
    "--leader-election-lease-duration": "30s",
    "--leader-election-renew-deadline": "20s",
    "--leader-election-retry-period": "4s",
    "--self-service-notification-enabled": None,
    "--controllers": "analysis",
    "--enable-pprof-address": "127.0.0.1:6060",
    "--kubeconfig": None,  # filled in by the test: a real file
    # client-go's override flags
    "--as": "alice",
    "--as-group": "devs",
    "--as-uid": "1234",
    "--certificate-authority": None,  # a real file
    "--cluster": "local",
    "--context": "local",
    "--insecure-skip-tls-verify": None,
    "--namespace": "team",
    "--request-timeout": "30s",
    "--server": "https://127.0.0.1:6443",
    "--tls-server-name": "kubernetes",
    "--token": "abc",
    "--user": "local",
    "--disable-compression": None,
}

KUBECONFIG = """
apiVersion: v1
kind: Config
current-context: local
clusters: [{name: local, cluster: {server: "https://127.0.0.1:1"}}]
contexts: [{name: local, context: {cluster: local, user: local}}]
users: [{name: local, user: {token: from-file}}]
"""


@pytest.fixture(autouse=True)
def _restore(monkeypatch: pytest.MonkeyPatch):
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
    set_global_flags(GlobalFlags())


@pytest.fixture
def started(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """Replace the controller's run with a recorder of what it would have run with."""
    calls: list[dict[str, Any]] = []

    async def fake_run(
        cluster: ClusterConfig, options: ManagerOptions, *, qps: float, burst: int, reconcilers: Mapping[str, Any]
    ) -> int:
        calls.append({"cluster": cluster, "options": options, "qps": qps, "burst": burst, "reconcilers": reconcilers})
        return 0

    monkeypatch.setattr(controller_module, "run_controller", fake_run)
    return calls


def _argv(tmp_path) -> list[str]:
    kubeconfig = tmp_path / "config"
    kubeconfig.write_text(KUBECONFIG)
    ca = tmp_path / "ca.crt"
    ca.write_text("not used: --insecure-skip-tls-verify wins")
    files = {"--kubeconfig": str(kubeconfig), "--certificate-authority": str(ca)}
    argv = ["controller"]
    for flag, sample in UPSTREAM_FLAGS.items():
        value = files.get(flag, sample)
        argv.append(flag if value is None else f"{flag}={value}")
    return argv


def test_every_upstream_flag_parses_and_the_honoured_ones_take_effect(tmp_path, started) -> None:
    result = CliRunner().invoke(app, prepare(_argv(tmp_path)))
    assert result.exit_code == 0, result.output
    (call,) = started
    options: ManagerOptions = call["options"]
    assert (options.lease_duration, options.renew_deadline, options.retry_period) == (30, 20.0, 4.0)
    assert options.metrics_port == 9001 and options.healthz_port == 9002
    assert options.namespace == "team" and options.instance_id == "blue"
    assert options.rollout_resync == 600.0
    assert (call["qps"], call["burst"]) == (20.0, 40)
    assert list(call["reconcilers"]) == ["analysisruns"]  # --controllers=analysis
    cluster: ClusterConfig = call["cluster"]
    assert cluster.server == "https://127.0.0.1:6443" and cluster.token == "abc"
    assert cluster.impersonate_user == "alice" and cluster.impersonate_groups == ("devs",)
    assert cluster.insecure_skip_tls_verify and cluster.request_timeout == 30.0
    assert global_flags().overrides.tls_server_name == "kubernetes"


def test_ignored_flags_are_named_in_one_notice(tmp_path, started) -> None:
    # The JSON log goes to stderr (configure_logging installs its own handler): read the records through it.
    records: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    original = controller_module.configure_logging

    def configure_and_keep(level: str, fmt: str) -> None:
        original(level, fmt)
        logging.getLogger().addHandler(Keep())

    controller_module.configure_logging = configure_and_keep  # type: ignore[assignment]
    try:
        result = CliRunner().invoke(app, prepare(_argv(tmp_path)))
    finally:
        controller_module.configure_logging = original  # type: ignore[assignment]
    assert result.exit_code == 0, result.output
    notices = [r.getMessage() for r in records if "ignored" in r.getMessage()]
    assert len(notices) == 1
    for flag in IGNORED_FLAGS:
        assert flag in notices[0]


def test_go_style_booleans_and_the_deprecated_metrics_port(tmp_path, started) -> None:
    kubeconfig = tmp_path / "config"
    kubeconfig.write_text(KUBECONFIG)
    argv = ["controller", f"--kubeconfig={kubeconfig}", "--namespaced=true", "--metricsport", "9100"]
    argv += ["--aws-verify-target-group=false", "--leader-elect=false"]
    result = CliRunner().invoke(app, prepare(argv))
    assert result.exit_code == 0, result.output
    options: ManagerOptions = started[0]["options"]
    assert options.namespace == "default" and options.metrics_port == 9100 and not options.leader_elect
    assert set(started[0]["reconcilers"]) == {"rollouts", "analysisruns", "experiments", "featureflags"}


@pytest.mark.parametrize(
    ("argv", "named"),
    [
        (["--controllers=rollouts"], "--controllers"),
        (["--leader-election-lease-duration=15"], "--leader-election-lease-duration"),
        (["--leader-election-renew-deadline=20s"], "--leader-election-renew-deadline"),
        (["--shards=0"], "--shards"),
        (["--shards=3", "--leader-elect=false"], "--shards"),
    ],
)
def test_bad_values_are_refused_naming_the_flag(tmp_path, started, argv: list[str], named: str) -> None:
    result = CliRunner().invoke(app, prepare(["controller", *argv]))
    assert result.exit_code == 2
    assert named in result.output
    assert started == []


def test_version_prints_and_exits(started) -> None:
    result = CliRunner().invoke(app, prepare(["controller", "--version"]))
    assert result.exit_code == 0 and result.output.startswith("ramp: v")
    assert started == []


def test_shards_reach_the_manager(tmp_path, started) -> None:
    kubeconfig = tmp_path / "config"
    kubeconfig.write_text(KUBECONFIG)
    result = CliRunner().invoke(app, prepare(["controller", f"--kubeconfig={kubeconfig}", "--shards", "4"]))
    assert result.exit_code == 0, result.output
    assert started[0]["options"].shards == 4
