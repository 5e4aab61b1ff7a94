"""deploy/rbac.yaml, the permissions table and the controller's code say the same thing.

The scan reads the controller's packages for API calls that name a resource constant (`client.patch(PODS, ...)`,
`io.replace(INGRESSES, ...)`, `informer(ROLLOUTS, ...)`) and the verb each makes; calls through a variable are
the table's `direct=False` grants.
"""

from __future__ import annotations

import ast
import functools
import importlib
import pkgutil
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import yaml

from ramp.kube.resources import Resource
from ramp.manager.permissions import CONTROLLER_GRANTS, Permission, permissions_of, permissions_of_rules
from ramp.manager.routing_watch import WATCHABLE

RBAC = Path(__file__).resolve().parents[2] / "deploy" / "rbac.yaml"
# The packages `ramp controller` runs; the CLI and the dashboard (actions, views) act as their user.
CONTROLLER_PACKAGES = (
    "kube",
    "rollout",
    "analysis",
    "experiments",
    "flags",
    "notifications",
    "traffic",
    "providers",
    "manager",
)
# KubeClient's verbs and RouterIO's (find/get read, replace writes back with PUT).
CALL_VERBS = {
    "list": "list",
    "get": "get",
    "find": "get",
    "create": "create",
    "update": "update",
    "replace": "update",
    "patch": "patch",
    "delete": "delete",
    "watch": "watch",
}
INFORMER_FACTORIES = {"informer", "Informer"}


def _cluster_role() -> dict[str, object]:
    documents = [doc for doc in yaml.safe_load_all(RBAC.read_text()) if doc]
    roles = [doc for doc in documents if doc.get("kind") == "ClusterRole"]
    assert len(roles) == 1, "deploy/rbac.yaml holds the controller's one ClusterRole"
    return dict(roles[0])


def _controller_modules() -> Iterator[ModuleType]:
    for package in CONTROLLER_PACKAGES:
        root = importlib.import_module(f"ramp.{package}")
        yield root
        for info in pkgutil.walk_packages(root.__path__, prefix=f"{root.__name__}."):
            yield importlib.import_module(info.name)


def _resource(module: ModuleType, node: ast.expr) -> Resource | None:
    if isinstance(node, ast.Name):
        value = getattr(module, node.id, None)
        return value if isinstance(value, Resource) else None
    return None


def _subresource(call: ast.Call) -> str | None:
    for keyword in call.keywords:
        if keyword.arg == "subresource" and isinstance(keyword.value, ast.Constant):
            return str(keyword.value.value)
    return None


@functools.cache
def scan_calls() -> dict[Permission, list[str]]:
    """(group, resource, verb) → the call sites (module:line) that need it."""
    found: dict[Permission, list[str]] = {}

    def note(resource: Resource, verb: str, module: ModuleType, node: ast.AST, subresource: str | None = None) -> None:
        name = f"{resource.plural}/{subresource}" if subresource else resource.plural
        found.setdefault((resource.group, name, verb), []).append(f"{module.__name__}:{getattr(node, 'lineno', 0)}")

    for module in _controller_modules():
        if not module.__file__ or not module.__file__.endswith(".py"):
            continue
        tree = ast.parse(Path(module.__file__).read_text())
        for node in ast.walk(tree):
            if not isinstance(node, ast.Call) or not node.args:
                continue
            func = node.func
            if isinstance(func, ast.Attribute) and func.attr in CALL_VERBS:
                resource = _resource(module, node.args[0])
                if resource is not None:
                    note(resource, CALL_VERBS[func.attr], module, node, _subresource(node))
            elif isinstance(func, ast.Name) and func.id in INFORMER_FACTORIES:
                for arg in node.args:
                    resource = _resource(module, arg)
                    if resource is not None:
                        note(resource, "list", module, node)
                        note(resource, "watch", module, node)
    for alternatives in WATCHABLE:  # an informer for each routing kind the cluster serves
        for resource in alternatives:
            for verb in ("list", "watch"):
                found.setdefault((resource.group, resource.plural, verb), []).append("ramp.manager.routing_watch")
    return found


def test_deploy_rbac_grants_exactly_the_permissions_table() -> None:
    rbac = permissions_of_rules(_cluster_role()["rules"])  # type: ignore[arg-type]
    table = permissions_of(CONTROLLER_GRANTS)
    assert sorted(table - rbac) == [], "add these to deploy/rbac.yaml (the code needs them)"
    assert sorted(rbac - table) == [], "deploy/rbac.yaml grants these but the controller uses none of them"


def test_deploy_rbac_has_no_wildcards_and_no_escalation() -> None:
    for rule in _cluster_role()["rules"]:  # type: ignore[attr-defined]
        for field in ("apiGroups", "resources", "verbs"):
            assert "*" not in rule[field], rule
        assert not {"escalate", "bind", "impersonate", "deletecollection"} & set(rule["verbs"]), rule
    secrets = {p for p in permissions_of(CONTROLLER_GRANTS) if p[1] == "secrets"}
    assert secrets == {("", "secrets", "get")}, "secrets are read one by one, never listed or watched"


def test_every_api_call_of_the_controller_is_granted() -> None:
    granted = permissions_of(CONTROLLER_GRANTS)
    missing = {permission: sites for permission, sites in scan_calls().items() if permission not in granted}
    assert missing == {}, "grant these in ramp.manager.permissions and deploy/rbac.yaml"


def test_every_direct_grant_is_used_by_a_call() -> None:
    used = set(scan_calls())
    unused = sorted(p for g in CONTROLLER_GRANTS if g.direct for p in g.permissions() if p not in used)
    assert unused == [], "no call needs these: remove them (or mark the grant direct=False and say why)"


def test_the_scan_sees_the_controller_calls() -> None:
    # A scan that silently stopped matching would make the two tests above vacuous.
    found = scan_calls()
    assert len(found) >= 40
    assert ("", "pods", "patch") in found  # ephemeral pod metadata (blue-green, canary)
    assert ("", "pods/eviction", "create") in found
    assert ("argoproj.io", "rollouts/status", "patch") in found


def test_every_routing_kind_a_router_names_is_granted() -> None:
    granted = {(group, resource) for group, resource, verb in permissions_of(CONTROLLER_GRANTS) if verb == "get"}
    traffic = importlib.import_module("ramp.traffic")
    kinds = set()
    for info in pkgutil.walk_packages(traffic.__path__, prefix="ramp.traffic."):
        module = importlib.import_module(info.name)
        kinds |= {(v.group, v.plural) for v in vars(module).values() if isinstance(v, Resource)}
    assert kinds, "the routers' kinds"
    assert sorted(kinds - granted) == []


def test_grants_say_why() -> None:
    assert all(g.why.strip() and g.verbs for g in CONTROLLER_GRANTS)
