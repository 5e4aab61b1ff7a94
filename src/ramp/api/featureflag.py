"""FeatureFlag (ramp.dev/v1alpha1): a flag's variants and targeting, and the progressive rollout of a new variant.

The spec holds a flagd-format flag definition (variants, defaultVariant, state, targeting as JsonLogic kept as
written) plus `rollout`: the variant to open, steps in the Rollout's vocabulary (setWeight, pause, analysis) and
an optional background analysis. The status follows a Rollout's field names (phase, currentStepIndex, abort,
pauseConditions, controllerPause, observedGeneration, conditions, message) so promote, abort and retry write the
same fields as they do for a Rollout; `weight` is the share of users the new variant has now.

`validate_feature_flag` checks what the schema cannot (variant names, weights, one step kind per step) and names
the field; `ramp lint` and the FeatureFlag reconciler (`ramp.flags.reconciler`) both use it.

Used by `ramp.api.kinds` (CRD generation), `ramp.flags` (definition, plan, reconciler, cluster store) and the CLI.
"""

from __future__ import annotations

import math
from typing import Annotated, Any, ClassVar, Literal

from pydantic import ConfigDict, Field, WithJsonSchema, model_validator
from pydantic_core import PydanticCustomError

from ramp.api.analysis import AnalysisTemplateRef
from ramp.api.durations import PauseDuration, pause_seconds
from ramp.api.meta import (
    PRESERVE_UNKNOWN,
    VERSION,
    ApiModel,
    ApiObject,
    Condition,
    Int32,
    OpaqueObject,
    Timestamp,
)
from ramp.api.rollout_status import PauseCondition, RolloutAnalysisRunStatus
from ramp.api.validation import Problem, describe_input, nested_error, parse_manifest

RAMP_GROUP = "ramp.dev"
RAMP_API_VERSION = f"{RAMP_GROUP}/{VERSION}"

FLAG_STEP_KINDS: tuple[str, ...] = ("setWeight", "pause", "analysis")
"""The step kinds a FeatureFlag acts on. A Rollout's other kinds (setCanaryScale, experiment, setHeaderRoute,
setMirrorRoute, plugin) move pods or routes, which a flag has none of: they are refused by name."""

VariantValue = Annotated[Any, WithJsonSchema({PRESERVE_UNKNOWN: True})]
"""A variant's value: a boolean, string, number or object (flagd's flag value types)."""


class FlagPhase:
    """The phases of a FeatureFlag, as a Rollout's where they mean the same."""

    PROGRESSING = "Progressing"
    PAUSED = "Paused"
    HEALTHY = "Healthy"
    DEGRADED = "Degraded"


class FlagPause(ApiModel):
    """Pause the flag's rollout: for a duration, or (no duration) until someone promotes it."""

    duration: PauseDuration | None = None
    """Seconds (30 or "30") or a duration ("30s", "5m", "1h"); absent: until promoted."""

    @property
    def duration_seconds(self) -> int | None:
        """Seconds to wait, or None for an indefinite pause."""
        return None if self.duration is None else pause_seconds(self.duration)


class FlagAnalysisArgument(ApiModel):
    """A value for one argument of the templates; `{{flag.key}}` and `{{flag.variant}}` are filled in."""

    name: str
    """Argument name."""
    value: str | None = None
    """The value; may contain {{flag.key}}, {{flag.variant}}, {{flag.namespace}} or {{flag.name}}."""


class FlagAnalysis(ApiModel):
    """An AnalysisRun to create from one or more AnalysisTemplates (or ClusterAnalysisTemplates)."""

    templates: list[AnalysisTemplateRef]
    """Templates whose metrics are combined into one run."""
    args: list[FlagAnalysisArgument] | None = None
    """Argument values."""


class FlagBackgroundAnalysis(FlagAnalysis):
    """Analysis that runs beside the steps from `startingStep` on, until the rollout ends."""

    starting_step: Int32 | None = None
    """Step index at which the analysis starts (default 0)."""

    @property
    def effective_starting_step(self) -> int:
        """0 unless set."""
        return self.starting_step or 0


class FlagStep(ApiModel):
    """One step of a flag rollout: exactly one of setWeight, pause or analysis."""

    # Kept open in the CRD so a step kind Ramp does not act on (experiment, ...) reaches validation and is
    # refused by name, instead of being pruned by the API server into an empty step.
    model_config = ConfigDict(json_schema_extra={PRESERVE_UNKNOWN: True})

    set_weight: Int32 | None = None
    """Percentage of users (0-100) who get the new variant."""
    pause: FlagPause | None = None
    """Pause for a duration or until promoted."""
    analysis: FlagAnalysis | None = None
    """Run an analysis and wait for its result."""

    @model_validator(mode="before")
    @classmethod
    def _has_one_action(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        names = {"set_weight": "setWeight"}
        keys = [names.get(str(key), str(key)) for key, value in data.items() if value is not None]
        choices = ", ".join(FLAG_STEP_KINDS)
        unknown = [key for key in keys if key not in FLAG_STEP_KINDS]
        if unknown:
            raise PydanticCustomError(
                "ramp_step",
                "Ramp does not act on step {unknown} in a FeatureFlag; a flag step is one of: {choices}",
                {"unknown": ", ".join(unknown), "choices": choices},
            )
        if len(keys) != 1:
            found = ", ".join(keys) or "nothing"
            raise PydanticCustomError(
                "ramp_step",
                "a flag step has exactly one of {choices} (found {found}): split it into separate steps",
                {"choices": choices, "found": found},
            )
        weight = data.get("setWeight", data.get("set_weight"))
        if weight is not None and not (isinstance(weight, int) and not isinstance(weight, bool) and 0 <= weight <= 100):
            raise nested_error("setWeight", f"must be a whole number 0-100, got {describe_input(weight)}")
        return data

    @property
    def kind(self) -> str:
        """setWeight, pause or analysis."""
        if self.set_weight is not None:
            return "setWeight"
        return "pause" if self.pause is not None else "analysis"


class FlagRollout(ApiModel):
    """How the new variant opens: to a growing share of users, step by step, under analysis."""

    variant: str
    """The variant being rolled out (the others stay on defaultVariant)."""
    steps: list[FlagStep] | None = None
    """Steps run in order; none: the new variant goes to everyone at once."""
    analysis: FlagBackgroundAnalysis | None = None
    """Background analysis, running beside the steps."""


class FeatureFlagSpec(ApiModel):
    """A flag (flagd's flag definition) and the rollout of its new variant."""

    key: str | None = None
    """The flag key clients evaluate (default: metadata.name)."""
    state: Literal["ENABLED", "DISABLED"] | None = None
    """ENABLED (default) or DISABLED (clients get their code default)."""
    variants: dict[str, VariantValue]
    """Variant name -> value: a boolean, string, number or object."""
    default_variant: str
    """The variant users get unless targeting or the rollout says otherwise."""
    targeting: OpaqueObject | None = None
    """flagd JsonLogic rules (fractional, sem_ver, starts_with, ends_with, ...), kept as written."""
    rollout: FlagRollout | None = None
    """Progressive rollout of a new variant."""
    paused: bool | None = None
    """Pause the rollout where it is, until promoted."""


class FeatureFlagStatus(ApiModel):
    """Observed state of a FeatureFlag's rollout, in a Rollout's field names."""

    phase: str | None = None
    """Progressing, Paused, Healthy or Degraded."""
    message: str | None = None
    """Why the flag is in its phase."""
    weight: int | None = None
    """Percentage of users who get the new variant now."""
    current_step_index: int | None = None
    """Index of the step being run (len(steps) once all are done)."""
    current_step_hash: str | None = None
    """Hash of spec.rollout: a change restarts the steps."""
    abort: bool | None = None
    """True: the rollout was aborted (by a failed analysis or `ramp flags abort`); everyone gets the default."""
    aborted_at: Timestamp | None = None
    """When it was aborted."""
    pause_conditions: list[PauseCondition] | None = None
    """Why the rollout is paused."""
    controller_pause: bool | None = None
    """True while the controller holds a pause step."""
    observed_generation: str | None = None
    """metadata.generation last acted on."""
    conditions: list[Condition] | None = None
    """Conditions: InvalidSpec, Progressing, Paused, Healthy."""
    current_step_analysis_run_status: RolloutAnalysisRunStatus | None = None
    """The AnalysisRun of the current analysis step."""
    current_background_analysis_run_status: RolloutAnalysisRunStatus | None = None
    """The background AnalysisRun."""


class FeatureFlag(ApiObject):
    """A feature flag whose new variant opens to a growing share of users, watched by analysis."""

    KIND: ClassVar[str] = "FeatureFlag"
    GROUP_VERSION: ClassVar[str] = RAMP_API_VERSION

    spec: FeatureFlagSpec
    """The flag and its rollout."""
    status: FeatureFlagStatus | None = Field(default=None)
    """Progress, written by the controller."""

    @property
    def flag_key(self) -> str:
        """spec.key, or the object's name."""
        return self.spec.key or self.metadata.name or ""


def parse_feature_flag(obj: Any) -> FeatureFlag:
    """Read a FeatureFlag manifest; raises ManifestError naming each bad field."""
    return parse_manifest(FeatureFlag, obj)


def _is_variant_value(value: object) -> bool:
    if isinstance(value, bool | str | dict):
        return True
    if isinstance(value, int | float):
        return math.isfinite(value)
    return False


def validate_feature_flag(flag: FeatureFlag) -> list[Problem]:
    """What the schema cannot check: variant values and names, one rollout variant apart from the default.

    >>> flag = parse_feature_flag({"spec": {"variants": {"on": True}, "defaultVariant": "off"}})
    >>> [str(p) for p in validate_feature_flag(flag)]
    ['spec.defaultVariant: no variant "off"; variants are: on']
    """
    spec = flag.spec
    problems: list[Problem] = []
    names = ", ".join(spec.variants) or "(none)"
    if not spec.variants:
        problems.append(Problem("spec.variants", "give at least one variant, such as {on: true, off: false}"))
    for name, value in spec.variants.items():
        if not _is_variant_value(value):
            problems.append(
                Problem(
                    f"spec.variants.{name}",
                    f"must be a boolean, string, number or object, got {describe_input(value)}",
                )
            )
    if spec.default_variant not in spec.variants:
        problems.append(Problem("spec.defaultVariant", f'no variant "{spec.default_variant}"; variants are: {names}'))
    rollout = spec.rollout
    if rollout is not None:
        if rollout.variant not in spec.variants:
            problems.append(Problem("spec.rollout.variant", f'no variant "{rollout.variant}"; variants are: {names}'))
        elif rollout.variant == spec.default_variant:
            problems.append(Problem("spec.rollout.variant", "is the defaultVariant; name the new variant to roll out"))
        steps = rollout.steps or []
        if rollout.analysis is not None and rollout.analysis.effective_starting_step > len(steps):
            problems.append(
                Problem(
                    "spec.rollout.analysis.startingStep",
                    f"is past the last step ({len(steps)} steps); use 0-{len(steps)}",
                )
            )
        analyses = [(f"spec.rollout.steps[{i}].analysis", s.analysis) for i, s in enumerate(steps) if s.analysis]
        if rollout.analysis is not None:
            analyses.append(("spec.rollout.analysis", rollout.analysis))
        for path, analysis in analyses:
            if not analysis.templates:
                problems.append(Problem(f"{path}.templates", "name at least one AnalysisTemplate"))
            for index, ref in enumerate(analysis.templates):
                if not ref.template_name:
                    problems.append(Problem(f"{path}.templates[{index}].templateName", "is required"))
    return problems
