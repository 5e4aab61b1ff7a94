"""Reading manifests into models and writing them back, with errors that name the field and say the fix.

`parse_manifest` validates a JSON object against a model and turns pydantic's errors into `Problem`s such as
`spec.replicas: must be an integer, got "two"`; it raises one `ManifestError` listing them
all. `to_manifest` writes a model back as camelCase JSON without the fields that were never set.
`unknown_fields` lists keys Ramp does not model (typos, or fields of a newer Argo Rollouts), for linting:
parsing keeps them rather than failing, so the controller can work with objects a newer client wrote.

Used by every `parse_*` function of `ramp.api`, by the CLI (lint, create) and by the reconcilers, which show
the problems in an InvalidSpec condition.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails, PydanticCustomError

from ramp.api.meta import INT32_MAX, INT32_MIN, ApiModel, ApiObject

NESTED_ERROR = "ramp_nested"

_MESSAGES = {
    "missing": "is required",
    "int_type": "must be an integer",
    "int_parsing": "must be an integer",
    "int_from_float": "must be an integer",
    "string_type": "must be a string",
    "bool_type": "must be true or false",
    "float_type": "must be a number",
    "list_type": "must be a list",
    "dict_type": "must be an object (a mapping of keys to values)",
    "model_type": "must be an object (a mapping of keys to values)",
    "model_attributes_type": "must be an object (a mapping of keys to values)",
}
_WITHOUT_INPUT = {"missing", "ramp_step"}  # the input is the whole object: repeating it does not help
_KEEP_CASE = {"ramp_step", "pause_duration"}
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a manifest: where (a field path) and what (in plain words)."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message


class ManifestError(ValueError):
    """A manifest that does not fit the API; `problems` lists every bad field."""

    def __init__(self, kind: str, name: str | None, problems: Sequence[Problem]) -> None:
        self.kind = kind
        self.name = name
        self.problems = tuple(problems)
        super().__init__(self.summary())

    def summary(self) -> str:
        """One line: what is invalid and each problem, separated by semicolons."""
        subject = f'{self.kind} "{self.name}"' if self.name else self.kind
        return f"{subject} is invalid: " + "; ".join(str(problem) for problem in self.problems)

    def __str__(self) -> str:
        subject = f'{self.kind} "{self.name}"' if self.name else self.kind
        lines = [f"{subject} is invalid:"]
        lines.extend(f"  {problem}" for problem in self.problems)
        return "\n".join(lines)


def nested_error(subpath: str, detail: str) -> PydanticCustomError:
    """An error a model validator raises about one of its own sub-fields (`steps[2].setWeight`)."""
    return PydanticCustomError(NESTED_ERROR, "{subpath}: {detail}", {"subpath": subpath, "detail": detail})


def format_path(location: Sequence[int | str]) -> str:
    """`("spec", "steps", 2, "setWeight")` -> `spec.steps[2].setWeight`; odd keys are quoted: `a["x/y"]`."""
    text = ""
    for part in location:
        if isinstance(part, int):
            text += f"[{part}]"
        elif _IDENTIFIER.fullmatch(part):
            text += f".{part}" if text else part
        else:
            text += f'["{part}"]'
    return text


def describe_input(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, str):
        return f'"{value}"' if len(value) <= 40 else f'"{value[:37]}..."'
    if isinstance(value, Mapping):
        return "an object"
    if isinstance(value, list):
        return "a list"
    return type(value).__name__


_INT32_BOUNDS = {("less_than_equal", INT32_MAX, None), ("greater_than_equal", None, INT32_MIN)}


def _problem(error: ErrorDetails) -> Problem:
    location = list(error["loc"])
    kind = error["type"]
    context = error.get("ctx") or {}
    if kind == NESTED_ERROR:
        subpath = str(context["subpath"])
        base = format_path(location)
        joiner = "" if not base or subpath.startswith("[") else "."
        return Problem(base + joiner + subpath, str(context["detail"]))
    if kind in ("literal_error", "enum"):
        message = f"must be one of {context.get('expected', '')}"
    elif (kind, context.get("le"), context.get("ge")) in _INT32_BOUNDS:
        message = f"must fit in 32 bits ({INT32_MIN} to {INT32_MAX}), as in Kubernetes; use a smaller number"
    elif kind in _MESSAGES:
        message = _MESSAGES[kind]
    elif kind.startswith("value_error") or kind == "assertion_error":
        message = str(error["msg"]).removeprefix("Value error, ").removeprefix("Assertion failed, ")
    elif kind in _KEEP_CASE:
        message = str(error["msg"])  # Ramp's own message, which may start with upstream's (capitalised) one
    else:
        message = str(error["msg"])
        message = message[:1].lower() + message[1:]
    if kind not in _WITHOUT_INPUT:
        message += f", got {describe_input(error.get('input'))}"
    return Problem(format_path(location), message)


def problems_from(error: ValidationError) -> list[Problem]:
    """Plain-words problems for each error pydantic found."""
    return [_problem(detail) for detail in error.errors()]


ObjectT = TypeVar("ObjectT", bound=ApiObject)


def _object_name(obj: Mapping[str, Any]) -> str | None:
    metadata = obj.get("metadata")
    if isinstance(metadata, Mapping):
        name = metadata.get("name") or metadata.get("generateName")
        if isinstance(name, str):
            return name
    return None


def parse_manifest(model: type[ObjectT], obj: Any) -> ObjectT:
    """Validate a JSON object as `model` (a top-level kind); raise ManifestError listing every problem.

    Checks apiVersion and kind when present, then every field's type. Unknown fields are kept.
    """
    kind = model.KIND
    if not isinstance(obj, Mapping):
        raise ManifestError(kind, None, [Problem("", f"a {kind} must be an object, got {describe_input(obj)}")])
    name = _object_name(obj)
    problems: list[Problem] = []
    if "kind" in obj and obj["kind"] != kind:
        problems.append(Problem("kind", f"must be {kind}, got {describe_input(obj['kind'])}"))
    if "apiVersion" in obj and obj["apiVersion"] != model.GROUP_VERSION:
        problems.append(
            Problem("apiVersion", f"must be {model.GROUP_VERSION}, got {describe_input(obj['apiVersion'])}")
        )
    if problems:
        raise ManifestError(kind, name, problems)
    try:
        return model.model_validate(obj)
    except ValidationError as error:
        raise ManifestError(kind, name, problems_from(error)) from None


def to_manifest(model: BaseModel) -> dict[str, Any]:
    """The model as a JSON object with camelCase keys, leaving out fields never set (None).

    Top-level objects get their apiVersion and kind when missing; an empty `metadata` that was never set is
    left out, so a manifest read then written comes back as it was.
    """
    data = model.model_dump(mode="json", by_alias=True, exclude_none=True)
    if isinstance(model, ApiObject):
        if data.get("metadata") == {} and "metadata" not in model.model_fields_set:
            del data["metadata"]
        head = {
            "apiVersion": data.pop("apiVersion", None) or model.GROUP_VERSION,
            "kind": data.pop("kind", None) or model.KIND,
        }
        data = head | data
    return data


def unknown_fields(model: BaseModel, path: str = "") -> list[str]:
    """Paths of fields Ramp does not model, such as `spec.strategy.canary.maxsurge` (likely typos).

    Shapes owned by others (metadata, pod templates, plugin configs) are not checked.
    """
    found: list[str] = []
    open_schema = isinstance(model, ApiModel) and type(model).open_schema
    if model.model_extra and not open_schema:
        found.extend(_join(path, key) for key in model.model_extra)
    for name, field in type(model).model_fields.items():
        value = getattr(model, name)
        found.extend(_unknown_in(value, _join(path, field.alias or name)))
    return found


def _unknown_in(value: object, path: str) -> list[str]:
    if isinstance(value, BaseModel):
        return unknown_fields(value, path)
    if isinstance(value, list):
        return [item for index, element in enumerate(value) for item in _unknown_in(element, f"{path}[{index}]")]
    if isinstance(value, dict):
        return [
            item
            for key, element in value.items()
            if isinstance(element, BaseModel)
            for item in unknown_fields(element, _join(path, str(key)))
        ]
    return []


def _join(path: str, key: str) -> str:
    if not _IDENTIFIER.fullmatch(key):
        return f'{path}["{key}"]'
    return f"{path}.{key}" if path else key
