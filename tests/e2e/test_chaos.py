"""Chaos: fifty canaries mid-analysis while the controller is SIGKILLed twenty times at random moments.

The claim (issue 13's done-when): a controller that crashes at any moment, and is restarted, leaves no Rollout
stuck, never promotes a release past a failed analysis, and neither loses nor duplicates a ReplicaSet or an
AnalysisRun. Crash-only design is what upstream's controller relies on too (state lives in the API server; every
reconcile starts from a fresh read), so a kill between any two writes must be harmless.

The analysis outcome is the test's to decide: every Rollout's analysis steps read a web metric from an HTTP
server in the test (an ephemeral port), at `/verdict/<rollout>/<gate>`, which answers `{"ok": 1}` or `{"ok": 0}`.
A quarter of the Rollouts fail their first gate, a quarter their second, half pass both.

The controllers run as a highly available install runs them: two replicas with leader election and a short Lease
(3 s). Each kill SIGKILLs the leader at a random moment of its term (from a seeded generator: from its first
informer sync to a few seconds into its work), a supervisor starts a new process at once, and the standby has to
take the Lease over from the killed leader, which never released it. The figures (kills, restarts, takeovers,
Rollouts in flight at each kill, time to settle and the final counts) are printed and written to build/chaos.json.
"""

from __future__ import annotations

import json
import os
import random
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import yaml

from tests.e2e.conftest import ControllerFactory
from tests.e2e.harness import ROOT, Cluster, ControllerProcess, wait_until
from tests.e2e.scenario import Samples, Scenario, is_live, rs_image
from tests.e2e.test_analysis_run import MetricsEndpoint

ROLLOUTS = 50
KILLS = 20
SEED = int(os.environ.get("RAMP_CHAOS_SEED", "20261207"))
"""Another seed, other kill moments: `RAMP_CHAOS_SEED=7 pytest tests/e2e/test_chaos.py`."""
KILL_WHILE_LEADING = (0.0, 4.0)
"""Seconds after a controller took the Lease that it is killed: while it syncs its informers, during the burst of
reconciles that follows, or later in its work."""
SETTLE_TIMEOUT = 300.0
OLD, NEW = "nginx:1.27", "nginx:1.28"
REPLICAS = 2
HASH_LABEL = "rollouts-pod-template-hash"
REVISION = "rollout.argoproj.io/revision"
FIRST_GATE, SECOND_GATE = 2, 4
"""Step indexes of the two analysis steps."""
LEADER_FLAGS = (
    "--leader-election-lease-duration=3s",
    "--leader-election-renew-deadline=2s",
    "--leader-election-retry-period=0.5s",
)


def rollout_name(index: int) -> str:
    return f"c-{index:02d}"


def failing_gate(index: int) -> int | None:
    """The analysis step a Rollout fails at (None: it passes both): a quarter fail each gate."""
    return {1: FIRST_GATE, 3: SECOND_GATE}.get(index % 4)


def gate_step(name: str, gate: str) -> dict[str, Any]:
    args = [{"name": "rollout", "value": name}, {"name": "gate", "value": gate}]
    return {"analysis": {"templates": [{"templateName": "verdict"}], "args": args}}


def manifest(image: str, verdict_url: str, rollouts: range = range(ROLLOUTS)) -> str:
    """The user's file: the AnalysisTemplate and fifty canary Rollouts, as one multi-document manifest."""
    template = {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "AnalysisTemplate",
        "metadata": {"name": "verdict"},
        "spec": {
            "args": [{"name": "rollout"}, {"name": "gate"}],
            "metrics": [
                {
                    "name": "verdict",
                    "interval": "1s",
                    "count": 2,
                    "successCondition": "result == 1",
                    "failureLimit": 0,
                    "provider": {
                        "web": {
                            "url": f"{verdict_url}/verdict/{{{{args.rollout}}}}/{{{{args.gate}}}}",
                            "jsonPath": "{$.ok}",
                        }
                    },
                }
            ],
        },
    }
    documents: list[dict[str, Any]] = [template]
    for index in rollouts:
        name = rollout_name(index)
        steps = [
            {"setWeight": 50},
            {"pause": {"duration": "2s"}},
            gate_step(name, "first"),
            {"pause": {"duration": "3s"}},
            gate_step(name, "second"),
        ]
        documents.append(
            {
                "apiVersion": "argoproj.io/v1alpha1",
                "kind": "Rollout",
                "metadata": {"name": name},
                "spec": {
                    "replicas": REPLICAS,
                    "selector": {"matchLabels": {"app": name}},
                    "template": {
                        "metadata": {"labels": {"app": name}},
                        "spec": {"containers": [{"name": "app", "image": image}]},
                    },
                    "strategy": {"canary": {"steps": steps}},
                },
            }
        )
    return yaml.safe_dump_all(documents, sort_keys=False)


@pytest.fixture(name="verdicts")
def verdicts_fixture() -> Iterator[MetricsEndpoint]:
    """`/verdict/<rollout>/<gate>` answers ok=0 for the gate a Rollout fails at, ok=1 otherwise."""
    serving = MetricsEndpoint()
    for index in range(ROLLOUTS):
        for gate, step in (("first", FIRST_GATE), ("second", SECOND_GATE)):
            ok = 0 if failing_gate(index) == step else 1
            serving.documents[f"/verdict/{rollout_name(index)}/{gate}"] = {"ok": ok}
    yield serving
    serving.stop()


def is_settled(rollout: dict[str, Any]) -> bool:
    """Healthy and fully promoted, or Degraded (aborted), for the Rollout's current generation."""
    status = rollout.get("status") or {}
    if status.get("observedGeneration") != str(rollout["metadata"]["generation"]):
        return False
    if status.get("phase") == "Healthy":
        return bool(status.get("stableRS")) and status.get("stableRS") == status.get("currentPodHash")
    return status.get("phase") == "Degraded"


def owner_name(obj: dict[str, Any]) -> str | None:
    refs = [ref for ref in obj["metadata"].get("ownerReferences") or [] if ref.get("controller")]
    return str(refs[0]["name"]) if len(refs) == 1 and refs[0].get("kind") == "Rollout" else None


@dataclass
class Chaos:
    """What the scenario saw: the kill log and the invariants the sampler checked while the controller died."""

    cluster: Cluster
    namespace: str
    stable_before: dict[str, str]
    """Rollout -> its stable pod hash before the update (the old ReplicaSet)."""
    rollouts: dict[str, dict[str, Any]] = field(default_factory=dict)
    """The last sample of every Rollout."""
    in_flight_at_kill: list[int] = field(default_factory=list)

    def sample(self) -> str | None:
        """Read Rollouts and ReplicaSets once; describe every broken invariant (None when all hold)."""
        rollouts = {r["metadata"]["name"]: r for r in self.cluster.list("rollouts", self.namespace)}
        replica_sets = self.cluster.list("replicasets", self.namespace)
        self.rollouts = rollouts
        problems = [*self.promotion_problems(rollouts), *replica_set_problems(replica_sets)]
        return "; ".join(problems) or None

    def promotion_problems(self, rollouts: dict[str, dict[str, Any]]) -> list[str]:
        """A Rollout whose analysis fails never gets past that step nor has its canary made stable."""
        problems = []
        for index in range(ROLLOUTS):
            gate = failing_gate(index)
            name = rollout_name(index)
            status = (rollouts.get(name) or {}).get("status") or {}
            if gate is None or not status:
                continue
            if status.get("stableRS") != self.stable_before[name]:
                problems.append(f"{name} fails gate {gate} but its stable is now {status.get('stableRS')}")
            on_canary = status.get("currentPodHash") not in (None, self.stable_before[name])
            if on_canary and int(status.get("currentStepIndex") or 0) > gate:
                problems.append(f"{name} fails gate {gate} but is at step {status.get('currentStepIndex')}")
        return problems

    def in_flight(self) -> int:
        return sum(not is_settled(r) for r in self.rollouts.values())


def replica_set_problems(replica_sets: list[dict[str, Any]]) -> list[str]:
    """No orphan; per Rollout at most two ReplicaSets, one per pod hash and one per template (image)."""
    problems = []
    by_owner: dict[str, list[dict[str, Any]]] = {}
    for rs in replica_sets:
        owner = owner_name(rs)
        if owner is None:
            problems.append(f"ReplicaSet {rs['metadata']['name']} has no Rollout owner")
            continue
        by_owner.setdefault(owner, []).append(rs)
    for owner, owned in by_owner.items():
        hashes = Counter(rs["metadata"]["labels"].get(HASH_LABEL) for rs in owned)
        images = Counter(rs_image(rs) for rs in owned)
        if len(owned) > 2 or max(hashes.values()) > 1 or max(images.values()) > 1:
            names = sorted(rs["metadata"]["name"] for rs in owned)
            problems.append(f"{owner} has ReplicaSets {names} (images {dict(images)})")
    return problems


def run_key(run: dict[str, Any]) -> tuple[str, str, str]:
    """(revision, type, step index) of a Rollout's AnalysisRun: at most one run each."""
    meta = run["metadata"]
    labels = meta.get("labels") or {}
    revision = str((meta.get("annotations") or {}).get(REVISION, ""))
    return revision, str(labels.get("rollout-type", "")), str(labels.get("step-index", ""))


def test_fifty_canaries_survive_twenty_controller_kills(
    cluster: Cluster, namespace: str, start_controller: ControllerFactory, verdicts: MetricsEndpoint
) -> None:
    random.seed(SEED)
    s = Scenario(cluster, namespace)
    # (info logs: the harness's debug level costs the loaded machine more than the scenario needs)
    controller_flags = ("--namespaced", "--namespace", namespace, *LEADER_FLAGS, "--loglevel", "info")
    controllers: list[ControllerProcess] = [start_controller(*controller_flags, label="c00")]
    controllers[0].wait_for_log("workers started", timeout=60)
    controllers.append(start_controller(*controller_flags, label="c01"))  # the standby
    # Given fifty canary Rollouts with two analysis gates each, Healthy at the old image
    verdict_url = f"http://127.0.0.1:{verdicts.server.server_address[1]}"
    s.given(manifest(OLD, verdict_url))
    wait_until(
        lambda: (
            len(ready := cluster.list("rollouts", namespace)) == ROLLOUTS
            and all(is_settled(r) and r["status"]["phase"] == "Healthy" for r in ready)
        ),
        240,
        f"{ROLLOUTS} rollouts Healthy at {OLD}",
        interval=2,
    )
    stable_before = {r["metadata"]["name"]: r["status"]["stableRS"] for r in cluster.list("rollouts", namespace)}
    chaos = Chaos(cluster, namespace, stable_before)
    # When all of them are updated to a new image (the same file, one apply) ...
    started = time.monotonic()
    s.given(manifest(NEW, verdict_url))
    chaos.sample()  # read once now: the first kill may come before the sampler thread's first read
    # ... and the leader is SIGKILLed at random moments, twenty times, a new process started after each kill
    killed: list[ControllerProcess] = []
    takeovers: list[float] = []
    killed_at = 0.0
    with s.sampling(chaos.sample, interval=1.0) as samples:
        for kill in range(1, KILLS + 1):
            leader = wait_until(lambda: leader_of(controllers), 90, "a controller to take the Lease", interval=0.1)
            if killed:
                takeovers.append(round(time.monotonic() - killed_at, 1))
            time.sleep(random.uniform(*KILL_WHILE_LEADING))
            chaos.in_flight_at_kill.append(chaos.in_flight())
            leader.kill()
            killed_at = time.monotonic()
            killed.append(leader)
            controllers.append(start_controller(*controller_flags, label=f"c{kill + 1:02d}"))
        last_restart = time.monotonic()
        # Then every Rollout settles under the last controller (the sampler keeps checking meanwhile)
        settled = settle(chaos)
        settle_seconds = time.monotonic() - last_restart
    # (the end state is read until it holds or a minute passes: an aborted canary's pods go after its phase is set)
    deadline = time.monotonic() + 60
    while (figures := final_figures(s, chaos, controllers, samples))["problems"] and time.monotonic() < deadline:
        time.sleep(2)
    figures.update(
        {
            "seed": SEED,
            "kills": KILLS,
            "restarts": len(controllers) - 2,
            "killed_while_leading": sum(was_leader(c) for c in killed),
            "seconds_update_to_last_restart": round(last_restart - started, 1),
            "seconds_to_settle_after_last_restart": round(settle_seconds, 1),
            "in_flight_at_kill": chaos.in_flight_at_kill,
            "seconds_from_kill_to_new_leader": takeovers,
            "stuck": ROLLOUTS - settled,
        }
    )
    report(figures)
    assert figures["stuck"] == 0, f"{figures['stuck']} rollouts never settled: {figures['unsettled']}"
    assert not figures["problems"], "\n".join(figures["problems"][:20])
    samples.assert_clean(minimum=10)
    # And the kills landed on Rollouts in flight, and the restarted controllers took the Lease over
    assert max(chaos.in_flight_at_kill) > 0
    assert figures["killed_while_leading"] == KILLS


def was_leader(controller: ControllerProcess) -> bool:
    return "leader acquired" in controller.log()


def leader_of(controllers: list[ControllerProcess]) -> ControllerProcess | None:
    """The live process leading now: its last word on the Lease is that it acquired it."""
    for controller in controllers:
        if not controller.alive:
            continue
        log = controller.log()
        acquired = log.rfind("leader acquired")
        if acquired >= 0 and acquired > max(log.rfind("standing by"), log.rfind("lease lost")):
            return controller
    return None


def settle(chaos: Chaos) -> int:
    """Wait (generously) until every Rollout is Healthy or Degraded; return how many are."""
    deadline = time.monotonic() + SETTLE_TIMEOUT
    while time.monotonic() < deadline:
        if len(chaos.rollouts) == ROLLOUTS and chaos.in_flight() == 0:
            break
        time.sleep(1)
    return ROLLOUTS - chaos.in_flight()


def final_figures(s: Scenario, chaos: Chaos, controllers: list[ControllerProcess], samples: Samples) -> dict[str, Any]:
    """Check every Rollout's end state; the counts and every problem found."""
    rollouts = {r["metadata"]["name"]: r for r in s.cluster.list("rollouts", s.namespace)}
    replica_sets = s.cluster.list("replicasets", s.namespace)
    runs = s.cluster.list("analysisruns", s.namespace)
    pods = [pod for pod in s.cluster.list("pods", s.namespace) if is_live(pod)]
    problems = replica_set_problems(replica_sets)
    problems += chaos.promotion_problems(rollouts)
    counts = Counter[str]()
    for index in range(ROLLOUTS):
        name = rollout_name(index)
        problems += check_end_state(
            name,
            rollouts[name],
            chaos.stable_before[name],
            failing_gate(index),
            [rs for rs in replica_sets if owner_name(rs) == name],
            [run for run in runs if owner_name(run) == name],
            [pod for pod in pods if pod["metadata"]["labels"].get("app") == name],
            counts,
        )
    orphan_runs = [run["metadata"]["name"] for run in runs if owner_name(run) is None]
    problems += [f"AnalysisRun {name} has no Rollout owner" for name in orphan_runs]
    acquired = [c for c in controllers if was_leader(c)]
    return {
        "rollouts": ROLLOUTS,
        "healthy_at_new_image": counts["healthy"],
        "aborted_at_stable_image": counts["aborted"],
        "promoted_past_failed_analysis": counts["promoted_past_failure"],
        "replica_sets": len(replica_sets),
        "replica_sets_lost": counts["rs_lost"],
        "replica_sets_duplicated": counts["rs_duplicated"],
        "analysis_runs": len(runs),
        "analysis_runs_duplicated": counts["runs_duplicated"],
        "analysis_runs_adopted_after_a_lost_status_write": sum(
            c.log().count("adopted AnalysisRun") for c in controllers
        ),
        "lease_takeovers": len(acquired),
        "samples_checked": samples.taken,
        "sample_violations": len(samples.violations),
        "unsettled": sorted(n for n, r in rollouts.items() if not is_settled(r)),
        "problems": problems,
    }


def check_end_state(
    name: str,
    rollout: dict[str, Any],
    old_hash: str,
    gate: int | None,
    replica_sets: list[dict[str, Any]],
    runs: list[dict[str, Any]],
    pods: list[dict[str, Any]],
    counts: Counter[str],
) -> list[str]:
    """One Rollout's end: Healthy at NEW with both gates Successful, or aborted at OLD with its gate Failed."""
    problems: list[str] = []
    status = rollout.get("status") or {}
    new_hash = str(status.get("currentPodHash") or "")
    by_hash = {rs["metadata"]["labels"].get(HASH_LABEL): rs for rs in replica_sets}
    if len(by_hash) < 2 or old_hash not in by_hash or new_hash not in by_hash:
        counts["rs_lost"] += 1
        problems.append(f"{name}: ReplicaSets {sorted(by_hash)}, expected {old_hash} and {new_hash}")
    if len(replica_sets) > 2 or len(by_hash) != len(replica_sets):
        counts["rs_duplicated"] += 1
    sizes = {pod_hash: rs["spec"].get("replicas") for pod_hash, rs in by_hash.items()}
    phases_by_step: dict[str, list[str]] = {}
    for key, count in Counter(run_key(run) for run in runs).items():
        if count > 1:
            counts["runs_duplicated"] += 1
            problems.append(f"{name}: {count} AnalysisRuns for revision/type/step {key}")
    for run in runs:
        phase = str((run.get("status") or {}).get("phase") or "")
        phases_by_step.setdefault(run_key(run)[2], []).append(phase)
    images = Counter(pod["spec"]["containers"][0]["image"] for pod in pods)
    if gate is None:
        expected_runs = {str(FIRST_GATE): ["Successful"], str(SECOND_GATE): ["Successful"]}
        healthy = status.get("phase") == "Healthy" and status.get("stableRS") == new_hash != old_hash
        if healthy and sizes.get(new_hash) == REPLICAS and sizes.get(old_hash) == 0:
            counts["healthy"] += 1
        else:
            problems.append(f"{name}: passes its analysis but is {status.get('phase')}, ReplicaSets {sizes}")
        expected_images = {NEW: REPLICAS}
    else:
        expected_runs = {str(FIRST_GATE): ["Failed"]}
        if gate == SECOND_GATE:
            expected_runs = {str(FIRST_GATE): ["Successful"], str(SECOND_GATE): ["Failed"]}
        if status.get("stableRS") != old_hash:
            counts["promoted_past_failure"] += 1
        aborted = status.get("phase") == "Degraded" and status.get("abort") is True
        if aborted and status.get("stableRS") == old_hash and sizes.get(new_hash) == 0:
            counts["aborted"] += 1
        else:
            problems.append(
                f"{name}: fails gate {gate} but is {status.get('phase')} (stable {status.get('stableRS')}, "
                f"old {old_hash}, ReplicaSets {sizes})"
            )
        expected_images = {OLD: REPLICAS}
    if phases_by_step != expected_runs:
        problems.append(f"{name}: AnalysisRun phases by step {phases_by_step}, expected {expected_runs}")
    if images != Counter(expected_images):
        problems.append(f"{name}: live pods by image {dict(images)}, expected {expected_images}")
    return problems


def report(figures: dict[str, Any]) -> None:
    path = ROOT / "build" / "chaos.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(figures, indent=2) + "\n")
    shown = {k: v for k, v in figures.items() if k != "problems"}
    print(f"\nchaos figures ({path}):\n{json.dumps(shown, indent=2)}")
    for problem in figures["problems"][:40]:
        print(f"  problem: {problem}")


def test_a_retry_after_a_failed_analysis_measures_again_instead_of_adopting_the_failed_run(
    cluster: Cluster, namespace: str, start_controller: ControllerFactory, verdicts: MetricsEndpoint
) -> None:
    """The counterpart of adopting a run left out of the status: a run put aside by an abort is never taken back."""
    controller = start_controller("--namespaced", "--namespace", namespace, "--leader-elect=false")
    controller.wait_for_log("workers started", timeout=60)
    s = Scenario(cluster, namespace)
    name = rollout_name(1)  # fails its first gate
    verdict_url = f"http://127.0.0.1:{verdicts.server.server_address[1]}"
    # Given a Healthy canary whose first analysis gate fails
    s.given(manifest(OLD, verdict_url, range(1, 2)))
    s.then_phase(name, "Healthy")
    # When a new image rolls out, the analysis fails and the update aborts
    s.given(manifest(NEW, verdict_url, range(1, 2)))
    aborted = s.then_phase(name, "Degraded")
    failed_name = f"{name}-{aborted['status']['currentPodHash']}-2-{FIRST_GATE}"
    failed = s.get("analysisrun", failed_name)
    assert failed["status"]["phase"] == "Failed"
    # Then the failed run is put aside (terminated), so nothing takes it back as current
    wait_until(lambda: s.get("analysisrun", failed_name)["spec"].get("terminate"), 30, f"{failed_name} terminated")
    # When the metric recovers and the user retries
    verdicts.documents[f"/verdict/{name}/first"] = {"ok": 1}
    s.when_patched("rollout", name, {"status": {"abort": False}}, subresource="status")
    # Then the gate is measured again by a new run, and the update completes
    healthy = s.then_rollout(
        name, lambda r: is_settled(r) and r["status"]["phase"] == "Healthy", "Healthy at the new image", timeout=90
    )
    assert healthy["status"]["stableRS"] == aborted["status"]["currentPodHash"]
    runs = {run["metadata"]["name"]: run["status"]["phase"] for run in cluster.list("analysisruns", namespace)}
    assert runs[failed_name] == "Failed"
    assert runs[f"{failed_name}.1"] == "Successful"
