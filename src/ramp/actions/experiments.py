"""Actions on AnalysisRuns and Experiments: `retry_experiment`, `terminate_analysis_run`, `terminate_experiment`.

Upstream's writes: retry clears an Experiment's whole status (`{"status":null}`, on the object: Experiments
have no status subresource), so its controller starts it afresh; terminate sets `{"spec":{"terminate":true}}`,
after which the controller stops measuring (AnalysisRun) or scales the experiment's ReplicaSets down.
"""

from __future__ import annotations

from ramp.actions.errors import translate_api_errors
from ramp.actions.writes import patch_object
from ramp.kube.client import JSON, KubeClient
from ramp.kube.resources import ANALYSIS_RUNS, EXPERIMENTS

_TERMINATE = {"spec": {"terminate": True}}


async def retry_experiment(client: KubeClient, namespace: str, name: str) -> JSON:
    """Start a failed Experiment again by clearing its status."""
    async with translate_api_errors("Experiment", namespace, name, "patch"):
        return await patch_object(client, EXPERIMENTS, namespace, name, {"status": None})


async def terminate_analysis_run(client: KubeClient, namespace: str, name: str) -> JSON:
    """Stop an AnalysisRun that is in progress."""
    async with translate_api_errors("AnalysisRun", namespace, name, "patch"):
        return await patch_object(client, ANALYSIS_RUNS, namespace, name, _TERMINATE)


async def terminate_experiment(client: KubeClient, namespace: str, name: str) -> JSON:
    """Stop an Experiment that is in progress."""
    async with translate_api_errors("Experiment", namespace, name, "patch"):
        return await patch_object(client, EXPERIMENTS, namespace, name, _TERMINATE)
