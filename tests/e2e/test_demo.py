"""`make demo` (`ramp demo`): the cluster with the CRDs installed and the controller holding the Lease."""

from __future__ import annotations

import re
import signal
import subprocess

import httpx

from tests.e2e.harness import Cluster, build_dir, free_port, ramp_command, wait_until

LEASE = "argo-rollouts-controller-lock"


def test_demo_brings_up_crds_and_a_controller_holding_the_lease(cluster: Cluster) -> None:
    log = build_dir() / "demo.out"
    # When the demo runs
    with log.open("w") as sink:
        demo = subprocess.Popen(
            [*ramp_command(), "demo", "--healthzPort", str(free_port()), "--metricsport", str(free_port())],
            stdout=sink,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_until(lambda: "demo ready" in log.read_text() or demo.poll() is not None, 120, "the demo to be ready")
        output = log.read_text()
        assert demo.poll() is None, output
        # Then the CRDs are served and the controller holds the Lease
        for plural in ("rollouts", "analysistemplates", "clusteranalysistemplates", "analysisruns", "experiments"):
            crd = cluster.get("crd", f"{plural}.argoproj.io")
            established = {c["type"]: c["status"] for c in crd["status"]["conditions"]}
            assert established["Established"] == "True"
        holder = cluster.get("lease", LEASE, "argo-rollouts")["spec"]["holderIdentity"]
        assert holder and holder in output
        # And it says how to reach what it started
        assert "export KUBECONFIG=" in output
        assert "/healthz" in output
        # And the sample canary Rollout is deployed and Healthy, with the commands to release a new version
        wait_until(
            lambda: cluster.get("rollout", "demo", "ramp-demo").get("status", {}).get("phase") == "Healthy",
            60,
            "the sample rollout to be Healthy",
        )
        assert "kubectl ramp set image demo app=nginx:1.28 -n ramp-demo" in output
        assert "kubectl ramp promote demo -n ramp-demo" in output
        # And the dashboard runs, at the URL printed with its token, showing the sample rollout
        found = re.search(r"dashboard\s+(http://127\.0\.0\.1:\d+)/#/ns/ramp-demo\?token=(\S+)", output)
        assert found, output
        url, token = found.groups()
        listed = httpx.get(
            f"{url}/api/v1/namespaces/ramp-demo/rollouts", headers={"Authorization": f"Bearer {token}"}, timeout=10
        )
        assert listed.status_code == 200, listed.text
        assert "demo" in listed.text
        assert httpx.get(f"{url}/api/v1/namespaces/ramp-demo/rollouts", timeout=10).status_code == 401
    finally:
        # When Ctrl-C is pressed, Then it stops the controller, which gives the Lease back
        demo.send_signal(signal.SIGINT)
        code = demo.wait(60)
    assert code == 0, log.read_text()
    assert "controller stopped" in log.read_text()
    assert not cluster.get("lease", LEASE, "argo-rollouts")["spec"].get("holderIdentity")
