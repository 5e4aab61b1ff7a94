"""Build the rollout tree (`RolloutView`) from raw objects: the Rollout, and the ReplicaSets, pods,
AnalysisRuns and Experiments of its namespace.

Pure: objects in, a frozen view out; `ramp.views.fetch` reads the objects, `ramp.views.text` renders the view.
Follows upstream's `get rollout`: only objects owned by the Rollout (ReplicaSets, runs, experiments) or by its
ReplicaSets (pods) are shown; revisions come from the `rollout.argoproj.io/revision` annotation (for a run
without one, from its pod-template-hash label); runs list their measured metrics with the last value; ReplicaSets
are marked stable/canary (canary strategy) or stable/active/preview (blue-green) by their pod-template hash.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from ramp.core.phase import client_phase
from ramp.views.models import (
    AnalysisRunView,
    ExperimentView,
    MetricView,
    PodView,
    ReplicaSetView,
    RevisionView,
    RolloutView,
)
from ramp.views.pods import describe_pod
from ramp.views.summary import (
    calculate_actual_weight,
    calculate_set_weight,
    collect_images,
    describe_step,
    describe_strategy,
)
from ramp.views.symbols import (
    TAG_ACTIVE,
    TAG_CANARY,
    TAG_PING,
    TAG_PONG,
    TAG_PREVIEW,
    TAG_STABLE,
    analysis_icon,
    pod_icon,
    replica_set_icon,
    rollout_icon,
)

REVISION_ANNOTATION = "rollout.argoproj.io/revision"
SCALE_DOWN_DEADLINE_ANNOTATION = "scale-down-deadline"
POD_TEMPLATE_HASH_LABEL = "rollouts-pod-template-hash"

JSON = Mapping[str, Any]


def _meta(obj: JSON) -> Mapping[str, Any]:
    return obj.get("metadata") or {}


def parse_created(obj: JSON) -> datetime | None:
    text = _meta(obj).get("creationTimestamp")
    if not text:
        return None
    try:
        return datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    except ValueError:
        return None


def parse_revision(obj: JSON) -> int:
    """The revision annotation as a number; 0 when missing or not a number (as upstream)."""
    text = (_meta(obj).get("annotations") or {}).get(REVISION_ANNOTATION, "")
    return int(text) if str(text).isdigit() else 0


def is_owned_by(obj: JSON, uids: Iterable[str]) -> str | None:
    """The UID among `uids` that `obj` names in an ownerReference, if any."""
    wanted = set(uids)
    for ref in _meta(obj).get("ownerReferences") or []:
        if ref.get("uid") in wanted:
            return str(ref["uid"])
    return None


def describe_replica_set_health(rs: JSON) -> str:
    """Healthy, Progressing, ReplicaFailure or ScaledDown, by upstream's rule for the tree."""
    spec, status = rs.get("spec") or {}, rs.get("status") or {}
    desired = spec.get("replicas")
    if int(_meta(rs).get("generation") or 0) > int(status.get("observedGeneration") or 0):
        return "Progressing"
    for condition in status.get("conditions") or []:
        if condition.get("type") == "ReplicaFailure" and condition.get("status") == "True":
            return "ReplicaFailure"
    if desired is not None and int(status.get("availableReplicas") or 0) < int(desired):
        return "Progressing"
    if desired is not None and int(desired) == 0:
        return "ScaledDown"
    return "Healthy"


def mark_replica_set(rollout: JSON, pod_hash: str) -> tuple[str, ...]:
    """The markers of the ReplicaSet with `pod_hash`: stable/canary/active/preview/ping/pong."""
    strategy = (rollout.get("spec") or {}).get("strategy") or {}
    status = rollout.get("status") or {}
    tags: list[str] = []
    if not pod_hash:
        return ()
    canary = strategy.get("canary")
    if canary is not None:
        ping_pong = bool(canary.get("pingPong"))
        stable_is_ping = (status.get("canary") or {}).get("stablePingPong") == TAG_PING
        if status.get("stableRS") == pod_hash:
            tags.append(TAG_STABLE)
            if ping_pong:
                tags.append(TAG_PING if stable_is_ping else TAG_PONG)
        elif status.get("currentPodHash") == pod_hash:
            tags.append(TAG_CANARY)
            if ping_pong:
                tags.append(TAG_PONG if stable_is_ping else TAG_PING)
    if strategy.get("blueGreen") is not None:
        blue_green = status.get("blueGreen") or {}
        if status.get("stableRS") == pod_hash:
            tags.append(TAG_STABLE)
        if blue_green.get("activeSelector") == pod_hash:
            tags.append(TAG_ACTIVE)
        elif blue_green.get("previewSelector") == pod_hash:
            tags.append(TAG_PREVIEW)
    return tuple(tags)


def build_pod_view(pod: JSON) -> PodView:
    state = describe_pod(pod)
    return PodView(
        name=str(_meta(pod).get("name", "")),
        status=state.status,
        icon=pod_icon(state.status),
        ready=state.ready,
        restarts=state.restarts,
        created=parse_created(pod),
    )


def build_replica_set_view(rollout: JSON, rs: JSON, pods: Sequence[JSON]) -> ReplicaSetView:
    meta, spec, status = _meta(rs), rs.get("spec") or {}, rs.get("status") or {}
    health = describe_replica_set_health(rs)
    pod_hash = str((meta.get("labels") or {}).get(POD_TEMPLATE_HASH_LABEL, ""))
    containers = ((spec.get("template") or {}).get("spec") or {}).get("containers") or []
    own_pods = sorted(
        (build_pod_view(pod) for pod in pods if is_owned_by(pod, [str(meta.get("uid", ""))])),
        key=lambda pod: (_created_key(pod.created), pod.name),
    )
    return ReplicaSetView(
        name=str(meta.get("name", "")),
        revision=parse_revision(rs),
        status=health,
        icon=replica_set_icon(health),
        desired=int(spec.get("replicas") or 0),
        replicas=int(status.get("replicas") or 0),
        ready=int(status.get("readyReplicas") or 0),
        available=int(status.get("availableReplicas") or 0),
        created=parse_created(rs),
        tags=mark_replica_set(rollout, pod_hash),
        images=tuple(str(c.get("image", "")) for c in containers),
        scale_down_deadline=str((meta.get("annotations") or {}).get(SCALE_DOWN_DEADLINE_ANNOTATION, "")),
        pods=tuple(own_pods),
    )


def build_metric_view(result: JSON) -> MetricView:
    """A metric's counts and the value of its newest measurement that has one (upstream shows counts only)."""
    measured = [m for m in result.get("measurements") or [] if m.get("value") not in (None, "")]
    last = measured[-1] if measured else {}
    phase = str(result.get("phase") or "")
    started = last.get("startedAt")
    return MetricView(
        name=str(result.get("name") or ""),
        phase=phase,
        icon=analysis_icon(phase),
        successful=int(result.get("successful") or 0),
        failed=int(result.get("failed") or 0),
        inconclusive=int(result.get("inconclusive") or 0),
        error=int(result.get("error") or 0),
        last_value=str(last.get("value") or ""),
        measured=parse_created({"metadata": {"creationTimestamp": started}}) if started else None,
        dry_run=bool(result.get("dryRun")),
    )


def build_analysis_run_view(run: JSON, revision_by_hash: Mapping[str, int] | None = None) -> AnalysisRunView:
    """The run's phase, totals and measured metrics. Its revision is the revision annotation (upstream's rule);
    a run without one, such as one made by hand with `create analysisrun`, takes the revision of the ReplicaSet
    whose pod-template hash its `rollouts-pod-template-hash` label names."""
    status = run.get("status") or {}
    results = status.get("metricResults") or []
    totals = {"successful": 0, "failed": 0, "inconclusive": 0, "error": 0}
    for result in results:
        for field in totals:
            totals[field] += int(result.get(field) or 0)
    phase = str(status.get("phase") or "")
    revision = parse_revision(run)
    if not revision and revision_by_hash:
        revision = revision_by_hash.get(str((_meta(run).get("labels") or {}).get(POD_TEMPLATE_HASH_LABEL, "")), 0)
    return AnalysisRunView(
        name=str(_meta(run).get("name", "")),
        revision=revision,
        phase=phase,
        icon=analysis_icon(phase),
        created=parse_created(run),
        **totals,
        metrics=tuple(build_metric_view(result) for result in results if result.get("measurements")),
    )


def build_experiment_view(experiment: JSON) -> ExperimentView:
    phase = str((experiment.get("status") or {}).get("phase") or "")
    return ExperimentView(
        name=str(_meta(experiment).get("name", "")),
        revision=parse_revision(experiment),
        phase=phase,
        icon=analysis_icon(phase),
        created=parse_created(experiment),
    )


def _created_key(created: datetime | None) -> float:
    return created.timestamp() if created else 0.0


def build_rollout_view(
    rollout: JSON,
    replica_sets: Sequence[JSON] = (),
    pods: Sequence[JSON] = (),
    analysis_runs: Sequence[JSON] = (),
    experiments: Sequence[JSON] = (),
) -> RolloutView:
    """The whole view of one Rollout; objects not owned by it (or its ReplicaSets) are ignored."""
    meta, spec, status = _meta(rollout), rollout.get("spec") or {}, rollout.get("status") or {}
    uid = [str(meta.get("uid", ""))]
    rs_views = sorted(
        (build_replica_set_view(rollout, rs, pods) for rs in replica_sets if is_owned_by(rs, uid)),
        key=lambda rs: (-rs.revision, rs.name),
    )
    revision_by_hash = {
        str((_meta(rs).get("labels") or {}).get(POD_TEMPLATE_HASH_LABEL)): parse_revision(rs)
        for rs in replica_sets
        if is_owned_by(rs, uid)
    }
    run_views = sorted(
        (build_analysis_run_view(run, revision_by_hash) for run in analysis_runs if is_owned_by(run, uid)),
        key=lambda run: (-run.revision, _created_key(run.created)),
    )
    experiment_views = sorted(
        (build_experiment_view(exp) for exp in experiments if is_owned_by(exp, uid)),
        key=lambda exp: (-exp.revision, _created_key(exp.created), exp.name),
    )
    numbers = sorted(
        {rs.revision for rs in rs_views} | {run.revision for run in run_views} | {e.revision for e in experiment_views},
        reverse=True,
    )
    revisions = tuple(
        RevisionView(
            number=number,
            replica_sets=tuple(rs for rs in rs_views if rs.revision == number),
            experiments=tuple(exp for exp in experiment_views if exp.revision == number),
            analysis_runs=tuple(run for run in run_views if run.revision == number),
        )
        for number in numbers
    )
    phase, message = client_phase(rollout)
    strategy = describe_strategy(rollout)
    is_canary = strategy == "Canary"
    return RolloutView(
        name=str(meta.get("name", "")),
        namespace=str(meta.get("namespace", "")),
        phase=phase,
        message=message,
        icon=rollout_icon(phase),
        strategy=strategy,
        step=describe_step(rollout) if is_canary else "",
        set_weight=str(calculate_set_weight(rollout)) if is_canary else "",
        actual_weight=str(calculate_actual_weight(rollout, rs_views)) if is_canary else "",
        images=collect_images(rs_views),
        desired=int(spec["replicas"]) if spec.get("replicas") is not None else 1,
        current=int(status.get("replicas") or 0),
        updated=int(status.get("updatedReplicas") or 0),
        ready=int(status.get("readyReplicas") or 0),
        available=int(status.get("availableReplicas") or 0),
        created=parse_created(rollout),
        revisions=revisions,
    )
