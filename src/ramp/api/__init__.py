"""Typed models of Ramp's CRDs (argoproj.io/v1alpha1), their defaults and CRD generation. No I/O.

The public names below are the ones other packages use; the modules hold one concept each:
`meta` (base model, metadata, value types), `durations`, `validation` (parse, errors, to_manifest),
`rollout`, `rollout_status`, `strategy`, `steps`, `traffic`, `rollout_analysis`, `analysis`,
`analysis_status`, `providers`, `experiment`, `kinds` (API coordinates) and `crds` (CRD generation).
"""

from ramp.api.analysis import (
    AnalysisRun,
    AnalysisRunSpec,
    AnalysisTemplate,
    AnalysisTemplateSpec,
    ClusterAnalysisTemplate,
    Metric,
    parse_analysis_run,
    parse_analysis_template,
    parse_cluster_analysis_template,
)
from ramp.api.analysis_status import AnalysisPhase, AnalysisRunStatus, is_completed_phase
from ramp.api.durations import parse_duration, pause_seconds
from ramp.api.experiment import Experiment, ExperimentSpec, ExperimentStatus, parse_experiment
from ramp.api.featureflag import FeatureFlag, parse_feature_flag, validate_feature_flag
from ramp.api.kinds import KINDS, KINDS_BY_NAME, Kind, parse_object
from ramp.api.meta import (
    API_VERSION,
    GROUP,
    VERSION,
    ApiModel,
    ApiObject,
    ObjectMeta,
    format_timestamp,
    int_value,
    resolve_int_or_percent,
)
from ramp.api.rollout import Rollout, RolloutSpec, parse_rollout
from ramp.api.rollout_status import PauseReason, RolloutConditionType, RolloutPhase, RolloutStatus
from ramp.api.steps import CanaryStep
from ramp.api.strategy import BlueGreenStrategy, CanaryStrategy, RolloutStrategy
from ramp.api.traffic import RolloutTrafficRouting, configured_routers, gateway_api_routing
from ramp.api.validation import ManifestError, Problem, to_manifest, unknown_fields

__all__ = [
    "API_VERSION",
    "GROUP",
    "KINDS",
    "KINDS_BY_NAME",
    "VERSION",
    "AnalysisPhase",
    "AnalysisRun",
    "AnalysisRunSpec",
    "AnalysisRunStatus",
    "AnalysisTemplate",
    "AnalysisTemplateSpec",
    "ApiModel",
    "ApiObject",
    "BlueGreenStrategy",
    "CanaryStep",
    "CanaryStrategy",
    "ClusterAnalysisTemplate",
    "Experiment",
    "ExperimentSpec",
    "ExperimentStatus",
    "FeatureFlag",
    "Kind",
    "ManifestError",
    "Metric",
    "ObjectMeta",
    "PauseReason",
    "Problem",
    "Rollout",
    "RolloutConditionType",
    "RolloutPhase",
    "RolloutSpec",
    "RolloutStatus",
    "RolloutStrategy",
    "RolloutTrafficRouting",
    "configured_routers",
    "format_timestamp",
    "gateway_api_routing",
    "int_value",
    "is_completed_phase",
    "parse_analysis_run",
    "parse_analysis_template",
    "parse_cluster_analysis_template",
    "parse_duration",
    "parse_experiment",
    "parse_feature_flag",
    "parse_object",
    "parse_rollout",
    "pause_seconds",
    "resolve_int_or_percent",
    "to_manifest",
    "unknown_fields",
    "validate_feature_flag",
]
