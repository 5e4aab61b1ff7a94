"""The five argoproj.io kinds and Ramp's own FeatureFlag (ramp.dev), with their API coordinates: plural, short
names, scope, model.

One record per kind, so code that lists, watches or generates CRDs walks this table instead of repeating
names. `parse_object` reads any of them by its `kind` field.

Used by `ramp.api.crds`, by `ramp.kube` (resource paths) and by the CLI (`lint`, `get`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ramp.api.analysis import AnalysisRun, AnalysisTemplate, ClusterAnalysisTemplate
from ramp.api.experiment import Experiment
from ramp.api.featureflag import RAMP_GROUP, FeatureFlag
from ramp.api.meta import GROUP, VERSION, ApiObject
from ramp.api.rollout import Rollout
from ramp.api.validation import ManifestError, Problem, parse_manifest


@dataclass(frozen=True)
class Kind:
    """API coordinates of one kind."""

    kind: str
    plural: str
    singular: str
    short_names: tuple[str, ...]
    namespaced: bool
    model: type[ApiObject]
    status_subresource: bool
    """Upstream gives only Rollout a status subresource: other kinds' status is written with the object."""
    group: str = GROUP
    """argoproj.io, or ramp.dev for Ramp's own kinds."""

    @property
    def version(self) -> str:
        return VERSION

    @property
    def api_version(self) -> str:
        return f"{self.group}/{VERSION}"

    @property
    def crd_name(self) -> str:
        """Name of the CustomResourceDefinition, such as rollouts.argoproj.io."""
        return f"{self.plural}.{self.group}"


KINDS: tuple[Kind, ...] = (
    Kind("Rollout", "rollouts", "rollout", ("ro",), namespaced=True, model=Rollout, status_subresource=True),
    Kind(
        "AnalysisTemplate",
        "analysistemplates",
        "analysistemplate",
        ("at",),
        namespaced=True,
        model=AnalysisTemplate,
        status_subresource=False,
    ),
    Kind(
        "ClusterAnalysisTemplate",
        "clusteranalysistemplates",
        "clusteranalysistemplate",
        ("cat",),
        namespaced=False,
        model=ClusterAnalysisTemplate,
        status_subresource=False,
    ),
    Kind(
        "AnalysisRun",
        "analysisruns",
        "analysisrun",
        ("ar",),
        namespaced=True,
        model=AnalysisRun,
        status_subresource=False,
    ),
    Kind(
        "Experiment",
        "experiments",
        "experiment",
        ("exp",),
        namespaced=True,
        model=Experiment,
        status_subresource=False,
    ),
    Kind(
        "FeatureFlag",
        "featureflags",
        "featureflag",
        ("ff",),
        namespaced=True,
        model=FeatureFlag,
        status_subresource=True,
        group=RAMP_GROUP,
    ),
)
"""In the order CRDs are rendered and documented: Rollout first, Ramp's own kinds last."""

KINDS_BY_NAME: Mapping[str, Kind] = {kind.kind: kind for kind in KINDS}


def parse_object(obj: Any) -> ApiObject:
    """Read any argoproj.io object by its `kind`; raises ManifestError for unknown kinds and bad fields."""
    kind_name = obj.get("kind") if isinstance(obj, Mapping) else None
    kind = KINDS_BY_NAME.get(kind_name) if isinstance(kind_name, str) else None
    if kind is None:
        choices = ", ".join(KINDS_BY_NAME)
        raise ManifestError("object", None, [Problem("kind", f"must be one of {choices}, got {kind_name!r}")])
    return parse_manifest(kind.model, obj)
