"""The building blocks every Ramp model shares: the base model, Kubernetes-owned shapes, and value types.

`ApiModel` fixes how all argoproj.io objects are read and written: camelCase names on the wire, Python
names in code, strict JSON types (a string "5" is not an integer, as the API server would say), unknown
fields kept rather than dropped (so writing back an object never loses what another tool or a newer Argo
Rollouts put there), frozen instances (informer caches are shared between reconcilers). Fields are optional
with no baked-in defaults, so `parse` then `to_manifest` gives back the same manifest; defaults live in
`effective_*` properties.

Also here: `ObjectMeta`, `LabelSelector` and labels/annotations (shapes Kubernetes owns), the opaque pod
template (`JSONObject`: kept exactly as written, unknown fields included), `IntOrString` (maxSurge, pause
durations, ...), `Timestamp` (RFC 3339, written the way Go's metav1.Time writes it) and `Condition`.

Used by every other module of `ramp.api`; `ramp.api.crds` reads the `x-kubernetes-*` markers set here.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Annotated, Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer, PlainValidator, WithJsonSchema
from pydantic.alias_generators import to_camel
from pydantic_core import PydanticCustomError

GROUP = "argoproj.io"
VERSION = "v1alpha1"
API_VERSION = f"{GROUP}/{VERSION}"

JSONObject = dict[str, Any]
"""A JSON object taken as is: the boundary with shapes Ramp does not model (pod templates, plugin configs)."""

PRESERVE_UNKNOWN = "x-kubernetes-preserve-unknown-fields"
INT_OR_STRING = "x-kubernetes-int-or-string"


class ApiModel(BaseModel):
    """Base of every argoproj.io model: camelCase on the wire, strict types, unknown fields kept."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        serialize_by_alias=True,
        extra="allow",
        strict=True,
        frozen=True,
        use_attribute_docstrings=True,
    )

    open_schema: ClassVar[bool] = False
    """True for shapes whose unknown fields are normal (the CRD keeps them; `unknown_fields` skips them)."""


class OpenModel(ApiModel):
    """A shape other parties own (Kubernetes metadata): its unknown fields are normal, and kept in the CRD."""

    model_config = ConfigDict(json_schema_extra={PRESERVE_UNKNOWN: True})
    open_schema: ClassVar[bool] = True


# --- value types ------------------------------------------------------------------------------------------

PodTemplate = Annotated[
    JSONObject,
    WithJsonSchema({"type": "object", PRESERVE_UNKNOWN: True}),
]
"""A PodTemplateSpec (or JobSpec) kept exactly as written: Ramp never reorders, drops or adds a field."""

OpaqueObject = Annotated[
    JSONObject,
    WithJsonSchema({"type": "object", PRESERVE_UNKNOWN: True}),
]
"""Configuration owned by a plugin or another controller: any JSON object, kept as written."""


INT32_MIN = -(2**31)
INT32_MAX = 2**31 - 1
Int32 = Annotated[int, Field(ge=INT32_MIN, le=INT32_MAX, json_schema_extra={"format": "int32"})]
"""A Go int32 field (replicas, seconds, weights, counts): the CRD says `format: int32` with its bounds, so the
API server refuses `replicas: 1099511627776`, and parsing refuses it too (`ramp lint` names the field)."""


def _check_int_or_string(value: object) -> int | str:
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise PydanticCustomError("int_or_string", 'must be an integer or a string such as "25%"')
    return value


IntOrString = Annotated[
    int | str,
    PlainValidator(_check_int_or_string),
    WithJsonSchema({INT_OR_STRING: True}),
]
"""Kubernetes' IntOrString: `5` or `"25%"` (also `"{{args.limit}}"` in analysis templates)."""


def resolve_int_or_percent(value: int | str, total: int, *, round_up: bool) -> int:
    """Turn an IntOrString into a count out of `total`, as Kubernetes' GetScaledValueFromIntOrPercent does.

    A percentage is scaled and rounded up (maxSurge) or down (maxUnavailable); a plain number string is
    accepted too. Examples: ("25%", 10, up) -> 3; ("25%", 10, down) -> 2; (4, 10, _) -> 4; ("4", 10, _) -> 4.

    Raises ValueError for anything else (an unresolved "{{args.x}}", "abc").
    """
    if isinstance(value, int):
        return value
    text = value.strip()
    if text.endswith("%"):
        try:
            percent = int(text[:-1])
        except ValueError:
            raise ValueError(f"invalid percentage {value!r}") from None
        scaled = percent * total / 100
        return math.ceil(scaled) if round_up else math.floor(scaled)
    try:
        return int(text)
    except ValueError:
        raise ValueError(f"{value!r} is neither a number nor a percentage") from None


def int_value(value: int | str) -> int:
    """The integer in an IntOrString count or limit (`3` or `"3"`); ValueError for "{{args.x}}" and such."""
    if isinstance(value, int):
        return value
    try:
        return int(value.strip())
    except ValueError:
        raise ValueError(f"{value!r} is not a whole number (an argument left unresolved?)") from None


def _parse_timestamp(value: object) -> datetime:
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            raise PydanticCustomError("timestamp", 'must be an RFC 3339 time such as "2024-05-01T12:00:00Z"') from None
    else:
        raise PydanticCustomError("timestamp", 'must be an RFC 3339 time such as "2024-05-01T12:00:00Z"')
    if parsed.tzinfo is None:
        raise PydanticCustomError("timestamp", 'must include a time zone, such as "2024-05-01T12:00:00Z"')
    return parsed


def format_timestamp(value: datetime) -> str:
    """Write a time as Kubernetes does (metav1.Time): UTC, whole seconds, `Z` suffix."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


Timestamp = Annotated[
    datetime,
    PlainValidator(_parse_timestamp),
    PlainSerializer(format_timestamp, return_type=str),
    WithJsonSchema({"type": "string", "format": "date-time"}),
]
"""A point in time: read from RFC 3339 text into an aware datetime, written back in Kubernetes' form."""


# --- Kubernetes-owned shapes ------------------------------------------------------------------------------


class OwnerReference(OpenModel):
    """Points at the object that owns this one (garbage collection, controller adoption)."""

    api_version: str | None = None
    """API version of the owner."""
    kind: str | None = None
    """Kind of the owner."""
    name: str | None = None
    """Name of the owner."""
    uid: str | None = None
    """UID of the owner."""
    controller: bool | None = None
    """True when the owner is the managing controller."""
    block_owner_deletion: bool | None = None
    """True when the owner cannot be deleted before this object."""


class ObjectMeta(OpenModel):
    """Kubernetes object metadata; the fields Ramp reads are typed, the rest are kept as they are."""

    name: str | None = None
    """Name, unique in the namespace."""
    generate_name: str | None = None
    """Prefix the API server completes into a unique name."""
    namespace: str | None = None
    """Namespace of the object."""
    uid: str | None = None
    """Unique id assigned by the API server."""
    resource_version: str | None = None
    """Opaque version used for optimistic concurrency and watches."""
    generation: int | None = None
    """Sequence number of the desired state, bumped on each spec change."""
    creation_timestamp: Timestamp | None = None
    """When the object was created."""
    deletion_timestamp: Timestamp | None = None
    """When the object was asked to be deleted."""
    deletion_grace_period_seconds: int | None = None
    """Grace period before the deletion completes."""
    labels: dict[str, str] | None = None
    """Labels."""
    annotations: dict[str, str] | None = None
    """Annotations."""
    owner_references: list[OwnerReference] | None = None
    """Objects that own this one."""
    finalizers: list[str] | None = None
    """Finalizers that must be removed before the object is deleted."""


class LabelSelectorRequirement(ApiModel):
    """One set-based selector term: `key operator values`."""

    key: str
    """Label key the term applies to."""
    operator: str
    """In, NotIn, Exists or DoesNotExist."""
    values: list[str] | None = None
    """Values for In and NotIn."""


class LabelSelector(ApiModel):
    """A Kubernetes label selector: every matchLabels pair and every matchExpressions term must hold."""

    match_labels: dict[str, str] | None = None
    """Exact label matches."""
    match_expressions: list[LabelSelectorRequirement] | None = None
    """Set-based label terms."""


class LabelsAndAnnotations(ApiModel):
    """Labels and annotations that Ramp adds to objects it creates (pods, AnalysisRuns, ReplicaSets, Jobs)."""

    labels: dict[str, str] | None = None
    """Labels to add."""
    annotations: dict[str, str] | None = None
    """Annotations to add."""


class Condition(ApiModel):
    """One observed condition of a Rollout or Experiment (type, True/False/Unknown, reason and message)."""

    type: str | None = None
    """Condition type, such as Available, Progressing, Paused, Completed, Healthy, InvalidSpec."""
    status: str | None = None
    """True, False or Unknown."""
    last_update_time: Timestamp | None = None
    """When the condition was last updated."""
    last_transition_time: Timestamp | None = None
    """When the status last changed."""
    reason: str | None = None
    """One-word reason for the last transition, such as ProgressDeadlineExceeded."""
    message: str | None = None
    """Human-readable details."""


class ApiObject(ApiModel):
    """A top-level argoproj.io object: apiVersion, kind and metadata; subclasses add spec (and status)."""

    KIND: ClassVar[str] = ""
    GROUP_VERSION: ClassVar[str] = API_VERSION
    """The object's apiVersion: argoproj.io/v1alpha1, or ramp.dev/v1alpha1 for Ramp's own kinds (FeatureFlag)."""

    api_version: str | None = None
    """argoproj.io/v1alpha1."""
    kind: str | None = None
    """The object's kind."""
    metadata: ObjectMeta = Field(default_factory=ObjectMeta)
    """Standard object metadata."""
