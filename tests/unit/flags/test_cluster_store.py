"""The cluster flag set: definitions by key, collisions, invalid flags left out, and a version that follows them."""

from __future__ import annotations

from typing import Any

from ramp.api.featureflag import parse_feature_flag
from ramp.flags.cluster_store import build_flag_set
from ramp.flags.plan import rollout_hash


def _flag(namespace: str, name: str, rv: str = "1", key: str | None = None, **status: Any) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "variants": {"on": True, "off": False},
        "defaultVariant": "off",
        "rollout": {"variant": "on", "steps": [{"setWeight": 20}]},
    }
    if key:
        spec["key"] = key
    raw = {"metadata": {"namespace": namespace, "name": name, "resourceVersion": rv}, "spec": spec}
    return {**raw, "status": {"currentStepHash": rollout_hash(parse_feature_flag(raw)), **status}}


def test_flags_are_keyed_by_spec_key_and_serve_their_rollout_weight() -> None:
    found = build_flag_set([_flag("shop", "checkout", key="new-checkout", weight=20, phase="Progressing")])
    assert list(found.flags) == ["new-checkout"]
    assert found.flags["new-checkout"]["targeting"] == {"fractional": [["on", 20], ["off", 80]]}


def test_a_key_in_two_namespaces_is_served_from_the_first_and_a_namespace_filter_picks_one() -> None:
    objects = [_flag("b-team", "checkout", weight=20, phase="Progressing"), _flag("a-team", "checkout")]
    assert "targeting" not in build_flag_set(objects).flags["checkout"]
    assert build_flag_set(objects, namespace="b-team").flags["checkout"]["targeting"]["fractional"][0] == ["on", 20]


def test_an_invalid_flag_is_left_out() -> None:
    broken = _flag("shop", "broken")
    broken["spec"]["defaultVariant"] = "missing"
    assert build_flag_set([broken, _flag("shop", "ok")]).flags.keys() == {"ok"}


def test_the_version_changes_with_a_resource_version_and_not_with_the_listing_order() -> None:
    one, two = _flag("shop", "a"), _flag("shop", "b")
    assert build_flag_set([one, two]).version == build_flag_set([two, one]).version
    assert build_flag_set([one, two]).version != build_flag_set([one, _flag("shop", "b", rv="2")]).version
