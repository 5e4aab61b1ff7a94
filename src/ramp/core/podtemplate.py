"""Pod templates as the API server stores them: defaulting, and "is this ReplicaSet's template the Rollout's?".

Role: a Rollout's `spec.template` is stored as written (the Rollout is a CRD), while a ReplicaSet's template
comes back from kube-apiserver defaulted and re-encoded. To find the ReplicaSet of a Rollout's template (also one
created by Argo Rollouts, whose hash label differs from Ramp's), Ramp applies the defaults the API server applies
to a ReplicaSet's pod template and compares the two semantically, as upstream's PodTemplateEqualIgnoreHash does
with Kubernetes' typed defaulting and semantic equality.

The defaults are those of Kubernetes v1.36 for a pod *template* (apps/v1 ReplicaSet), checked against a real
API server by tests/e2e/test_podtemplate_defaults.py. Two defaults people expect are Pod-only and do NOT apply to
templates: resource requests copied from limits, and `enableServiceLinks: true` (both come from SetDefaults_Pod).

Semantic comparison (what Go gets from typed structs and `equality.Semantic`): a key that is absent, null, an
empty map or list, or a zero scalar of a non-pointer Go field (false, 0, "") on one side equals its absence on
the other; resource quantities compare by value ("1000m" == "1", "0.5" == "500m"; resource lists round up to
milli as the server does). Collaborators: `hashing` (the label name), the rollout reconciler (finding the
current and stable ReplicaSets), `actions.undo` (`strip_hash_label`).
"""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from decimal import ROUND_UP, Decimal, localcontext
from typing import Any

from ramp.core.hashing import POD_TEMPLATE_HASH_LABEL

_CONTAINER_LISTS = ("initContainers", "containers", "ephemeralContainers")
_PROBES = ("livenessProbe", "readinessProbe", "startupProbe")
_VOLUME_MODE_DEFAULT = 0o644  # 420: configMap, secret, downwardAPI and projected volumes
_POD_SPEC_DEFAULTS = {"dnsPolicy": "ClusterFirst", "restartPolicy": "Always", "schedulerName": "default-scheduler"}
_PROBE_DEFAULTS = {"timeoutSeconds": 1, "periodSeconds": 10, "successThreshold": 1, "failureThreshold": 3}

# Go pointer fields whose zero value (false, 0) means something other than "unset": kept when comparing.
# Every other false/0/"" is a non-pointer field the server drops (omitempty), so it equals absence.
_ZERO_IS_MEANINGFUL = frozenset(
    {
        "activeDeadlineSeconds",
        "allowPrivilegeEscalation",
        "automountServiceAccountToken",
        "defaultMode",
        "enableServiceLinks",
        "expirationSeconds",
        "fsGroup",
        "hostUsers",
        "minDomains",
        "mode",
        "optional",
        "priority",
        "privileged",
        "readOnlyRootFilesystem",
        "runAsGroup",
        "runAsNonRoot",
        "runAsUser",
        "setHostnameAsFQDN",
        "shareProcessNamespace",
        "terminationGracePeriodSeconds",
        "tolerationSeconds",
    }
)

_RESOURCE_LIST_KEYS = frozenset({"limits", "requests", "overhead"})
_QUANTITY_KEYS = frozenset({"sizeLimit", "divisor"})
# Unambiguous (one way to split any digits), so a failed match backtracks in linear time, never quadratic.
_QUANTITY = re.compile(r"([+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+))(Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE]|[eE][+-]?[0-9]+)?")
MAX_QUANTITY_LENGTH = 64
"""Characters in a quantity; Kubernetes' own are far shorter (it caps values near 2^63 and 1e-9)."""
_MAX_QUANTITY_EXPONENT = 64
_BINARY_SUFFIXES = {"Ki": 1, "Mi": 2, "Gi": 3, "Ti": 4, "Pi": 5, "Ei": 6}
_DECIMAL_SUFFIXES = {"n": -9, "u": -6, "m": -3, "": 0, "k": 3, "M": 6, "G": 9, "T": 12, "P": 15, "E": 18}
_MILLI = Decimal("0.001")


def strip_hash_label(template: Mapping[str, Any]) -> dict[str, Any]:
    """Return a deep copy of `template` without the `rollouts-pod-template-hash` label (as `undo` writes it)."""
    stripped = copy.deepcopy(dict(template))
    metadata = stripped.get("metadata")
    if isinstance(metadata, dict) and isinstance(metadata.get("labels"), dict):
        metadata["labels"].pop(POD_TEMPLATE_HASH_LABEL, None)
    return stripped


def apply_pod_template_defaults(template: Mapping[str, Any]) -> dict[str, Any]:
    """Return a deep copy of `template` with the defaults kube-apiserver v1.36 gives a ReplicaSet's pod template.

    Quantity strings are left as written (the server re-renders them, e.g. "1000m" as "1");
    `is_same_pod_template` compares them by value.
    """
    return _default_in_place(copy.deepcopy(dict(template)))


def _default_in_place(defaulted: dict[str, Any]) -> dict[str, Any]:
    """`apply_pod_template_defaults` on a template the caller owns (a copy already), without copying it again."""
    metadata = defaulted.get("metadata")
    metadata = dict(metadata) if isinstance(metadata, Mapping) else {}
    if metadata.get("creationTimestamp", "") is None:
        del metadata["creationTimestamp"]
    defaulted["metadata"] = metadata
    spec = defaulted.get("spec")
    if isinstance(spec, dict):
        _default_pod_spec(spec)
    return defaulted


def is_same_pod_template(
    live_rs_template: Mapping[str, Any],
    rollout_template: Mapping[str, Any],
    ephemeral_metadata: Mapping[str, Any] | None = None,
) -> bool:
    """Whether a ReplicaSet's template is the Rollout's template, hash label and server defaults aside.

    `ephemeral_metadata` is the parsed `rollout.argoproj.io/ephemeral-metadata` annotation of the ReplicaSet
    ({"labels": {...}, "annotations": {...}}): the canary/stable metadata the controller injected into the
    live template, whose keys are removed from it before comparing (as upstream does).
    """
    return bool(comparable_live_template(live_rs_template, ephemeral_metadata) == comparable_template(rollout_template))


def comparable_live_template(live_rs_template: Mapping[str, Any], ephemeral_metadata: Mapping[str, Any] | None) -> Any:
    """A ReplicaSet's template as `is_same_pod_template` compares it: hash label, injected metadata and server
    defaults aside. Equal values mean the same template; a caller may keep it per ReplicaSet version."""
    live = strip_hash_label(live_rs_template)
    if ephemeral_metadata:
        _remove_ephemeral_metadata(live, ephemeral_metadata)
    return _comparable(live)


def comparable_template(rollout_template: Mapping[str, Any]) -> Any:
    """A Rollout's template as `is_same_pod_template` compares it (see `comparable_live_template`)."""
    return _comparable(strip_hash_label(rollout_template))


def _comparable(template: dict[str, Any]) -> Any:
    # `template` is a copy of the callers' own (`strip_hash_label` made it): defaulted in place.
    defaulted = _default_in_place(template)
    spec = defaulted.get("spec")
    if isinstance(spec, dict):
        # The deprecated alias mirrors serviceAccountName once defaulted; comparing it adds nothing.
        spec.pop("serviceAccount", None)
    return _normalise(defaulted, None)


def _remove_ephemeral_metadata(template: dict[str, Any], ephemeral: Mapping[str, Any]) -> None:
    metadata = template.get("metadata")
    if not isinstance(metadata, dict):
        return
    for field in ("labels", "annotations"):
        injected = ephemeral.get(field)
        present = metadata.get(field)
        if isinstance(injected, Mapping) and isinstance(present, dict):
            for key in injected:
                present.pop(key, None)


# --- defaulting ---------------------------------------------------------------------------------------------


def _default_pod_spec(spec: dict[str, Any]) -> None:
    _default_fields(spec, _POD_SPEC_DEFAULTS)
    if spec.get("securityContext") is None:
        spec["securityContext"] = {}
    if spec.get("terminationGracePeriodSeconds") is None:
        spec["terminationGracePeriodSeconds"] = 30
    # serviceAccount is the deprecated alias: the server fills serviceAccountName from it when that is empty,
    # then renders serviceAccount as a copy of serviceAccountName.
    if not spec.get("serviceAccountName") and spec.get("serviceAccount"):
        spec["serviceAccountName"] = spec["serviceAccount"]
    if spec.get("serviceAccountName"):
        spec["serviceAccount"] = spec["serviceAccountName"]
    for list_name in _CONTAINER_LISTS:
        for container in _dicts(spec.get(list_name)):
            _default_container(container)
    for volume in _dicts(spec.get("volumes")):
        _default_volume(volume)


def _default_container(container: dict[str, Any]) -> None:
    if not container.get("imagePullPolicy"):
        container["imagePullPolicy"] = "Always" if _image_tag(container.get("image")) == "latest" else "IfNotPresent"
    _default_fields(container, {"terminationMessagePath": "/dev/termination-log", "terminationMessagePolicy": "File"})
    if container.get("resources") is None:
        container["resources"] = {}
    for port in _dicts(container.get("ports")):
        if not port.get("protocol"):
            port["protocol"] = "TCP"
    for env in _dicts(container.get("env")):
        value_from = env.get("valueFrom")
        if isinstance(value_from, dict):
            _default_field_ref(value_from.get("fieldRef"))
            resource_ref = value_from.get("resourceFieldRef")
            if isinstance(resource_ref, dict) and resource_ref.get("divisor") is None:
                resource_ref["divisor"] = "0"  # a non-pointer Quantity: its zero value is rendered
            file_ref = value_from.get("fileKeyRef")
            if isinstance(file_ref, dict) and file_ref.get("optional") is None:
                file_ref["optional"] = False
    for probe_name in _PROBES:
        probe = container.get(probe_name)
        if isinstance(probe, dict):
            _default_probe(probe)
    lifecycle = container.get("lifecycle")
    if isinstance(lifecycle, dict):
        for hook in ("postStart", "preStop"):
            handler = lifecycle.get(hook)
            if isinstance(handler, dict):
                _default_http_get(handler.get("httpGet"))


def _default_probe(probe: dict[str, Any]) -> None:
    for field, value in _PROBE_DEFAULTS.items():
        if not probe.get(field):
            probe[field] = value
    _default_http_get(probe.get("httpGet"))
    grpc = probe.get("grpc")
    if isinstance(grpc, dict) and grpc.get("service") is None:
        grpc["service"] = ""


def _default_http_get(action: Any) -> None:
    if isinstance(action, dict):
        if not action.get("path"):
            action["path"] = "/"
        if not action.get("scheme"):
            action["scheme"] = "HTTP"


def _default_field_ref(field_ref: Any) -> None:
    if isinstance(field_ref, dict) and not field_ref.get("apiVersion"):
        field_ref["apiVersion"] = "v1"


def _default_volume(volume: dict[str, Any]) -> None:
    if all(value is None for key, value in volume.items() if key != "name"):
        volume["emptyDir"] = {}
    for source_name in ("secret", "configMap", "downwardAPI", "projected"):
        source = volume.get(source_name)
        if isinstance(source, dict) and source.get("defaultMode") is None:
            source["defaultMode"] = _VOLUME_MODE_DEFAULT
    host_path = volume.get("hostPath")
    if isinstance(host_path, dict) and host_path.get("type") is None:
        host_path["type"] = ""
    downward = volume.get("downwardAPI")
    if isinstance(downward, dict):
        for item in _dicts(downward.get("items")):
            _default_field_ref(item.get("fieldRef"))
    projected = volume.get("projected")
    if isinstance(projected, dict):
        for source in _dicts(projected.get("sources")):
            projected_downward = source.get("downwardAPI")
            if isinstance(projected_downward, dict):
                for item in _dicts(projected_downward.get("items")):
                    _default_field_ref(item.get("fieldRef"))
            token = source.get("serviceAccountToken")
            if isinstance(token, dict) and token.get("expirationSeconds") is None:
                token["expirationSeconds"] = 3600
    _default_fields(volume.get("iscsi"), {"iscsiInterface": "default"})
    _default_fields(volume.get("rbd"), {"pool": "rbd", "user": "admin", "keyring": "/etc/ceph/keyring"})
    _default_fields(volume.get("scaleIO"), {"storageMode": "ThinProvisioned", "fsType": "xfs"})
    _default_fields(
        volume.get("azureDisk"), {"cachingMode": "ReadWrite", "fsType": "ext4", "readOnly": False, "kind": "Shared"}
    )
    image = volume.get("image")
    if isinstance(image, dict) and not image.get("pullPolicy"):
        image["pullPolicy"] = "Always" if _image_tag(image.get("reference")) == "latest" else "IfNotPresent"
    ephemeral = volume.get("ephemeral")
    claim_template = ephemeral.get("volumeClaimTemplate") if isinstance(ephemeral, dict) else None
    if isinstance(claim_template, dict):
        if claim_template.get("metadata") is None:
            claim_template["metadata"] = {}
        claim_spec = claim_template.get("spec")
        if isinstance(claim_spec, dict) and claim_spec.get("volumeMode") is None:
            claim_spec["volumeMode"] = "Filesystem"


def _default_fields(source: Any, defaults: Mapping[str, Any]) -> None:
    if isinstance(source, dict):
        for field, value in defaults.items():
            if source.get(field) in (None, ""):
                source[field] = value


def _dicts(items: Any) -> list[dict[str, Any]]:
    return [item for item in items if isinstance(item, dict)] if isinstance(items, list) else []


_IMAGE_PATH = re.compile(r"^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$")
_IMAGE_TAG = re.compile(r"^\w[\w.-]{0,127}$")


def _image_tag(image: Any) -> str:
    """The image's tag as Kubernetes' ParseImageName sees it: "latest" when neither tag nor digest is given.

    An unparsable reference gives "" (the server then defaults the pull policy to IfNotPresent).
    """
    if not isinstance(image, str) or not image:
        return ""
    name, has_digest = image, False
    if "@" in image:
        name, has_digest = image.split("@", 1)[0], True
    tag = ""
    last_slash = name.rfind("/")
    colon = name.rfind(":")
    if colon > last_slash:
        name, tag = name[:colon], name[colon + 1 :]
        if not _IMAGE_TAG.match(tag):
            return ""
    first, _, rest = name.partition("/")
    path = rest if rest and ("." in first or ":" in first or first == "localhost" or first.lower() != first) else name
    if not _IMAGE_PATH.match(path):
        return ""
    if not tag and not has_digest:
        return "latest"
    return tag


# --- semantic comparison ------------------------------------------------------------------------------------


def _normalise(value: Any, key: str | None) -> Any:
    """A comparable form: absent-equivalent keys dropped, quantities as Decimals."""
    if isinstance(value, Mapping):
        normalised: dict[str, Any] = {}
        for child_key, child in value.items():
            if key in _RESOURCE_LIST_KEYS and _is_quantity_like(child):
                child_value: Any = _parse_quantity(str(child), round_to_milli=True)
            elif child_key in _QUANTITY_KEYS and _is_quantity_like(child):
                child_value = _parse_quantity(str(child), round_to_milli=False)
            else:
                child_value = _normalise(child, child_key)
            if not _is_unset(child_key, child_value):
                normalised[child_key] = child_value
        return normalised
    if isinstance(value, list):
        return [_normalise(item, key) for item in value]
    return value


def _is_unset(key: str, value: Any) -> bool:
    if value is None or value in ({}, []):
        return True
    if isinstance(value, bool | int | str):
        return not value and key not in _ZERO_IS_MEANINGFUL
    return False


def _is_quantity_like(value: Any) -> bool:
    # A Rollout may hold `cpu: 1` or `cpu: 0.5` as YAML numbers (int-or-string); the server stores strings.
    return isinstance(value, str | int | float) and not isinstance(value, bool)


class QuantityError(ValueError):
    """Text that is not a Kubernetes quantity Ramp can compare."""


def parse_quantity(text: str, round_to_milli: bool = False) -> Decimal:
    """The value of a Kubernetes quantity ("500m", "1Gi", "1e3"), in time linear in the text.

    QuantityError for anything else, including text over `MAX_QUANTITY_LENGTH` characters and exponents no
    Kubernetes quantity has ("1e1000000").

    >>> parse_quantity("1500m"), parse_quantity("1Ki")
    (Decimal('1.5'), Decimal('1024'))
    """
    stripped = text.strip()
    if len(stripped) > MAX_QUANTITY_LENGTH:
        raise QuantityError(f"quantity is {len(stripped)} characters long; at most {MAX_QUANTITY_LENGTH} are allowed")
    match = _QUANTITY.fullmatch(stripped)
    if match is None:
        raise QuantityError(f"{stripped!r} is not a quantity such as 500m, 1Gi or 1e3")
    number, suffix = match.group(1), match.group(2) or ""
    with localcontext() as context:
        context.prec = 80  # exact for any quantity Kubernetes accepts (it caps them near 2^63 / 1e-9)
        try:
            value = Decimal(number)
            if suffix in _BINARY_SUFFIXES:
                value *= Decimal(1024) ** _BINARY_SUFFIXES[suffix]
            elif suffix in _DECIMAL_SUFFIXES:
                value = value.scaleb(_DECIMAL_SUFFIXES[suffix])
            else:
                exponent = int(suffix[1:])
                if abs(exponent) > _MAX_QUANTITY_EXPONENT:
                    raise QuantityError(f"{stripped!r}: exponent {exponent} is out of range")
                value = value.scaleb(exponent)
            if round_to_milli:
                value = value.quantize(_MILLI, rounding=ROUND_UP)
            return value.normalize()
        except (ArithmeticError, ValueError) as problem:
            if isinstance(problem, QuantityError):
                raise
            raise QuantityError(f"{stripped!r} is out of range for a quantity") from None


def _parse_quantity(text: str, round_to_milli: bool) -> Decimal | str:
    """The value of a Kubernetes quantity; the text itself when it is not one (compared as text)."""
    try:
        return parse_quantity(text, round_to_milli)
    except QuantityError:
        return text
