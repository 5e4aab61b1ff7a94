"""kwok Stages Ramp adds to the local cluster, so that a pod can be told how and when it ends.

kwok's default Stages make every pod Running at once and every Running pod owned by a Job Succeeded at once.
Demos and tests also need Jobs that fail and pods that take a while, so Ramp adds two Stages, driven by
annotations on the pod (for a Job: on `spec.template.metadata.annotations`):

- `ramp.dev/simulate: fail` — the Running pod ends in phase Failed, every container terminated with exit
  code 1 (reason Error). Any pod, not only a Job's; with a Job's `backoffLimit: 0` the Job is Failed at once.
- `ramp.dev/simulate-duration: 30s` — how long the pod stays Running first (a Go duration such as `500ms`,
  `30s`, `2m`, or an RFC 3339 time to end at). A Job's pod then Succeeds (unless it also says `fail`); other
  pods are left Running. Without it a pod ends as soon as it is Running.

The Stages have weight 1 and kwok's defaults weight 0, and kwok only picks among matching Stages with a
positive weight, so an annotated pod always follows Ramp's Stage, and an unannotated pod kwok's default.

They reach kwok as a second `--config` file of the kwok controller rather than as Stage documents in the
kwokctl configuration: kwokctl leaves out all its default node and pod Stages as soon as that file names
any Stage (kwok v0.8.0, `pkg/kwokctl/runtime/cluster.go`). Used by `localcluster.cluster`, which writes
`build_stages()` to that file and records it with the cluster's settings.
"""

from __future__ import annotations

import json
from typing import Any

SIMULATE_ANNOTATION = "ramp.dev/simulate"
"""Pod annotation saying how the pod ends; the one value understood is `SIMULATE_FAIL`."""
SIMULATE_FAIL = "fail"
SIMULATE_DURATION_ANNOTATION = "ramp.dev/simulate-duration"
"""Pod annotation: how long the pod stays Running before it ends (Go duration or RFC 3339 time)."""

STAGE_API_VERSION = "kwok.x-k8s.io/v1alpha1"
FAIL_STAGE = "ramp-pod-fail"
COMPLETE_STAGE = "ramp-pod-complete-after"
# Above the 0 of kwok's default Stages, which then never compete with these (see the module docstring).
STAGE_WEIGHT = 1
FAILED_EXIT_CODE = 1

_ENDED_STATUS = """\
{{ $now := Now }}
{{ $started := or .status.startTime $now }}
conditions:
- type: Ready
  status: "False"
  reason: @POD_REASON@
  lastTransitionTime: {{ $now | Quote }}
- type: ContainersReady
  status: "False"
  reason: @POD_REASON@
  lastTransitionTime: {{ $now | Quote }}
containerStatuses:
{{ range .spec.containers }}
- name: {{ .name | Quote }}
  image: {{ .image | Quote }}
  ready: false
  started: false
  restartCount: 0
  state:
    terminated:
      exitCode: @EXIT_CODE@
      reason: @CONTAINER_REASON@
      message: @MESSAGE@
      startedAt: {{ $started | Quote }}
      finishedAt: {{ $now | Quote }}
{{ end }}
phase: @PHASE@
"""
"""The status of a pod that ran and ended; `@NAME@` marks what each Stage fills in (Go's template braces make
`str.format` awkward here)."""


def build_stages() -> list[dict[str, Any]]:
    """Ramp's Stages, in the order kwok gets them: the failing pod, then the Job pod that takes a while."""
    return [build_fail_stage(), build_complete_after_stage()]


def build_fail_stage() -> dict[str, Any]:
    """A Running pod annotated `ramp.dev/simulate: fail` ends Failed, after its simulated duration if any."""
    return _stage(
        FAIL_STAGE,
        [*_running_pod(), _expression(_annotation_key(SIMULATE_ANNOTATION), "In", [SIMULATE_FAIL])],
        build_ended_status(
            "Failed",
            exit_code=FAILED_EXIT_CODE,
            reason="Error",
            message=f"failed on purpose: the pod has the annotation {SIMULATE_ANNOTATION}: {SIMULATE_FAIL}",
        ),
    )


def build_complete_after_stage() -> dict[str, Any]:
    """A Running Job pod with `ramp.dev/simulate-duration` (and not told to fail) Succeeds after that long."""
    return _stage(
        COMPLETE_STAGE,
        [
            *_running_pod(),
            _expression(".metadata.ownerReferences.[].kind", "In", ["Job"]),
            _expression(_annotation_key(SIMULATE_DURATION_ANNOTATION), "Exists"),
            _expression(_annotation_key(SIMULATE_ANNOTATION), "NotIn", [SIMULATE_FAIL]),
        ],
        build_ended_status("Succeeded", exit_code=0, reason="Completed", message="ran its simulated duration"),
    )


def build_ended_status(phase: str, *, exit_code: int, reason: str, message: str) -> str:
    """The status template (Go text/template, rendered by kwok against the pod) of a pod that ended in `phase`."""
    pod_reason = "PodFailed" if phase == "Failed" else "PodCompleted"
    return (
        _ENDED_STATUS.replace("@POD_REASON@", pod_reason)
        .replace("@EXIT_CODE@", str(exit_code))
        .replace("@CONTAINER_REASON@", reason)
        .replace("@MESSAGE@", json.dumps(message))
        .replace("@PHASE@", phase)
    )


def _stage(name: str, match: list[dict[str, Any]], status_template: str) -> dict[str, Any]:
    return {
        "apiVersion": STAGE_API_VERSION,
        "kind": "Stage",
        "metadata": {"name": name},
        "spec": {
            "resourceRef": {"apiGroup": "v1", "kind": "Pod"},
            "selector": {"matchExpressions": match},
            "weight": STAGE_WEIGHT,
            "delay": {
                # No annotation (or one kwok cannot read): no delay.
                "durationMilliseconds": 0,
                "durationFrom": {"expressionFrom": _annotation_key(SIMULATE_DURATION_ANNOTATION)},
            },
            "next": {"statusTemplate": status_template},
        },
    }


def _running_pod() -> list[dict[str, Any]]:
    # Fresh dicts each time: a shared one would come out of yaml.safe_dump as an anchor and an alias.
    return [
        _expression(".metadata.deletionTimestamp", "DoesNotExist"),
        _expression(".status.phase", "In", ["Running"]),
    ]


def _expression(key: str, operator: str, values: list[str] | None = None) -> dict[str, Any]:
    expression: dict[str, Any] = {"key": key, "operator": operator}
    if values is not None:
        expression["values"] = values
    return expression


def _annotation_key(annotation: str) -> str:
    """The jq path of one annotation (its name has dots and a slash, so it is quoted)."""
    return f'.metadata.annotations["{annotation}"]'
