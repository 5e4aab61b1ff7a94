"""A FeatureFlag rolling out on the local cluster, as the real OpenFeature SDKs see it through `ramp flags serve -n`.

A user's manifests (a Prometheus-backed AnalysisTemplate and a FeatureFlag) are applied as `kubectl apply` does;
`ramp controller` moves the flag 10% -> 50% -> 100% (`ramp flags promote` carries it past each indefinite pause);
`ramp flags serve -n <namespace>` (cluster mode, with auth tokens) serves it. At each step the real Python SDK
(`openfeature-sdk` + `openfeature-provider-ofrep`, in this process) and the real JavaScript SDK
(`@openfeature/server-sdk` + `@openfeature/ofrep-provider`, one node process per step) each evaluate 10,000
targeting keys: the share on the new variant is within 1 point of the weight, both SDKs put every key on the same
variant, and no key on the new variant leaves it when the weight rises. A background analysis reading a real
Prometheus (Debian's package, scraping a source the test sets) fails when the error ratio rises: the flag aborts
and every key of both SDKs is back on the default variant. Errors reach both SDKs as their documented codes.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from openfeature.evaluation_context import EvaluationContext
from openfeature.exception import ErrorCode
from openfeature.flag_evaluation import Reason

from tests.backends.prometheus import PrometheusServer, start_prometheus
from tests.e2e.flags_clients import ServeProcess, flags_verb, js_env, python_client, run_js, start_flag_server
from tests.e2e.harness import INSTANCE_ID_LABEL, Cluster, ControllerProcess, instance_id_for, wait_until
from tests.e2e.metrics_source import MetricsSource
from tests.e2e.scenario import Scenario

KEYS = 10_000
TOKEN = "payments-team-token"
FLAG = "checkout"  # the FeatureFlag's name
KEY = "new-checkout"  # the key clients evaluate
ERROR_RATIO = f'flag_error_ratio{{flag="{KEY}",variant="on"}}'


@pytest.fixture
def source() -> Iterator[MetricsSource]:
    serving = MetricsSource()
    serving.set(ERROR_RATIO, 0.01)
    yield serving
    serving.stop()


@pytest.fixture
def prometheus(tmp_path: Path, source: MetricsSource) -> Iterator[PrometheusServer]:
    server = start_prometheus(tmp_path, scrape_targets=[source.address])
    try:
        server.wait_until_queryable(ERROR_RATIO, timeout=60)
        yield server
    finally:
        server.stop()


@pytest.fixture
def flag_server(cluster: Cluster, namespace: str, tmp_path: Path) -> Iterator[Callable[[], ServeProcess]]:
    """`ramp flags serve -n <namespace>` in cluster mode, accepting TOKEN (stopped when the test ends)."""
    started: list[ServeProcess] = []

    def start() -> ServeProcess:
        tokens = tmp_path / "tokens"
        tokens.write_text(f"# tokens of the teams that read flags\n{TOKEN}\n")
        args = ["-n", namespace, "--kubeconfig", str(cluster.kubeconfig), "--auth-tokens-file", str(tokens)]
        server = start_flag_server(args, tmp_path / f"serve-{len(started)}.log")
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


def _start_controller(start_controller: Callable[..., ControllerProcess], namespace: str) -> None:
    controller = start_controller("--namespaced", "--namespace", namespace, "--leader-elect=false")
    controller.wait_for_log("workers started")


def _template(prometheus: PrometheusServer, count: str) -> str:
    """The user's AnalysisTemplate: the flag's error ratio, read from Prometheus every second."""
    return f"""\
apiVersion: argoproj.io/v1alpha1
kind: AnalysisTemplate
metadata:
  name: flag-error-ratio
spec:
  args:
  - name: flag
  - name: variant
  metrics:
  - name: error-ratio
    interval: 1s
    {count}
    successCondition: result[0] < 0.05
    failureLimit: 0
    provider:
      prometheus:
        address: {prometheus.url}
        query: max(flag_error_ratio{{flag="{{{{args.flag}}}}",variant="{{{{args.variant}}}}"}})
"""


def _flag(namespace: str, rollout: str) -> str:
    """The user's FeatureFlag: `on` rolling out over the default `off`, with the steps (and analysis) of `rollout`."""
    return f"""\
apiVersion: ramp.dev/v1alpha1
kind: FeatureFlag
metadata:
  name: {FLAG}
  labels:
    {INSTANCE_ID_LABEL}: {instance_id_for(namespace)}
spec:
  key: {KEY}
  variants:
    "on": true
    "off": false
  defaultVariant: "off"
  rollout:
    variant: "on"
{rollout}"""


# 10% -> pause -> 50% -> analysis (3 readings) -> pause -> the end: 100% and Healthy.
STEPPED = """\
    steps:
    - setWeight: 10
    - pause: {}
    - setWeight: 50
    - analysis:
        templates:
        - templateName: flag-error-ratio
        args:
        - name: flag
          value: "{{flag.key}}"
        - name: variant
          value: "{{flag.variant}}"
    - pause: {}
"""

# 10% -> pause -> 50% -> pause, watched throughout by a background analysis reading every second.
WATCHED = """\
    steps:
    - setWeight: 10
    - pause: {}
    - setWeight: 50
    - pause: {}
    analysis:
      templates:
      - templateName: flag-error-ratio
      args:
      - name: flag
        value: "{{flag.key}}"
      - name: variant
        value: "{{flag.variant}}"
"""

# 10% and wait.
PAUSED = """\
    steps:
    - setWeight: 10
    - pause: {}
"""


@dataclass(frozen=True)
class Sweep:
    """What one SDK saw for user-0..user-9999: "1" where the flag was true, the reasons and rollout weights."""

    sdk: str
    marks: str
    reasons: dict[str, int]
    weights: frozenset[Any]

    @property
    def on(self) -> set[int]:
        return {i for i, mark in enumerate(self.marks) if mark == "1"}

    @property
    def share(self) -> float:
        return self.marks.count("1") / len(self.marks)


def python_sweep(client: Any) -> Sweep:
    """10,000 evaluations in a tight loop through the Python SDK (its OFREP provider has no bulk call)."""
    marks: list[str] = []
    reasons: Counter[str] = Counter()
    weights: set[Any] = set()
    for i in range(KEYS):
        details = client.get_boolean_details(KEY, False, EvaluationContext(targeting_key=f"user-{i}"))
        assert details.error_code is None, (i, details.error_code, details.error_message)
        marks.append("1" if details.value else "0")
        reasons[str(details.reason)] += 1
        weights.add(details.flag_metadata.get("rolloutWeight"))
    return Sweep("python", "".join(marks), dict(reasons), frozenset(weights))


def js_sweep(node_env: Path, server: ServeProcess) -> Sweep:
    """10,000 evaluations through the JavaScript SDK, all in one node process."""
    seen = run_js(node_env, "shares", server.url, KEY, str(KEYS), headers={"Authorization": f"Bearer {TOKEN}"})
    assert (seen["unknown"], seen["mismatch"]) == ("FLAG_NOT_FOUND", "TYPE_MISMATCH")
    return Sweep("javascript", seen["marks"], seen["reasons"], frozenset(seen["weights"]))


def served_weight(server: ServeProcess) -> Any:
    answer = httpx.post(
        f"{server.url}/ofrep/v1/evaluate/flags/{KEY}",
        json={"context": {"targetingKey": "probe"}},
        headers={"X-API-Key": TOKEN},
        timeout=5,
    )
    return answer.json().get("metadata", {}).get("rolloutWeight") if answer.status_code == 200 else None


def both_sdks_at(
    weight: int, server: ServeProcess, python: Any, node_env: Path, shares: dict[str, list[float]]
) -> set[int]:
    """Both SDKs' sweeps once the server serves `weight`; checks the share, and returns the keys on the new variant."""
    wait_until(lambda: served_weight(server) == weight, 30, f"the server to serve weight {weight}")
    began = time.monotonic()
    sweeps = [python_sweep(python)]
    middle = time.monotonic()
    sweeps.append(js_sweep(node_env, server))
    took = {"python": middle - began, "javascript": time.monotonic() - middle}
    for sweep in sweeps:
        # Every evaluation of the sweep saw the same step: the flag stood still while it ran.
        assert sweep.weights == {weight}, (sweep.sdk, sweep.weights)
        assert abs(sweep.share - weight / 100) <= 0.01, (sweep.sdk, weight, sweep.share)
        shares.setdefault(sweep.sdk, []).append(sweep.share)
        print(
            f"{sweep.sdk} SDK at {weight}%: {sweep.share:.4f} of {KEYS} keys on the new variant "
            f"{sweep.reasons} ({took[sweep.sdk]:.1f}s)"
        )
    python_sweep_, js_sweep_ = sweeps
    # One hash, on the server: both SDKs put every key on the same variant.
    assert python_sweep_.marks == js_sweep_.marks
    return python_sweep_.on


def _then(s: Scenario, timeout: float = 60, **expected: Any) -> dict[str, Any]:
    def reached() -> dict[str, Any] | None:
        status = dict(s.get("featureflag", FLAG).get("status") or {})
        return status if all(status.get(key) == value for key, value in expected.items()) else None

    return wait_until(reached, timeout, f"FeatureFlag {FLAG} to reach {expected}")


def _prometheus_runs(s: Scenario) -> list[dict[str, Any]]:
    runs = s.cluster.list("analysisruns", s.namespace)
    for run in runs:
        [metric] = run["spec"]["metrics"]
        assert "prometheus" in metric["provider"], metric
        assert {arg["name"]: arg["value"] for arg in run["spec"]["args"]} == {"flag": KEY, "variant": "on"}
    return runs


def test_both_sdks_see_a_flag_open_10_50_100_percent_and_no_key_flips_back(
    cluster: Cluster,
    namespace: str,
    start_controller: Callable[..., ControllerProcess],
    prometheus: PrometheusServer,
    flag_server: Callable[[], ServeProcess],
) -> None:
    started = time.monotonic()
    _start_controller(start_controller, namespace)
    s = Scenario(cluster, namespace)
    server = flag_server()
    python = python_client(server.url, f"rollout-{namespace}", {"X-API-Key": TOKEN})
    node_env = js_env()
    shares: dict[str, list[float]] = {}
    # Given the user's AnalysisTemplate and FeatureFlag, applied as `kubectl apply -f` does
    s.given(_template(prometheus, "count: 3") + "---\n" + _flag(namespace, STEPPED))
    # When the controller opens the flag to 10% and waits at the pause
    _then(s, phase="Paused", weight=10, currentStepIndex=1)
    # Then 10% of 10,000 keys get the new variant, in both SDKs
    at_10 = both_sdks_at(10, server, python, node_env, shares)
    # When `ramp flags promote` carries it past the pause
    assert f"featureflag '{FLAG}' promoted" in flags_verb(cluster, namespace, "promote", FLAG)
    # Then it opens to 50%, the Prometheus analysis passes, and it waits at the next pause
    _then(s, phase="Paused", weight=50, currentStepIndex=4)
    [run] = _prometheus_runs(s)
    [result] = run["status"]["metricResults"]
    assert (run["status"]["phase"], result["count"], result["successful"]) == ("Successful", 3, 3)
    assert {m["value"] for m in result["measurements"]} == {"[0.01]"}  # what Prometheus scraped from the source
    at_50 = both_sdks_at(50, server, python, node_env, shares)
    # and no key that had the new variant at 10% lost it at 50%
    assert at_10 <= at_50, f"{len(at_10 - at_50)} keys flipped back to the default"
    # When it is promoted again, Then the rollout ends: Healthy, everyone on the new variant
    flags_verb(cluster, namespace, "promote", FLAG)
    _then(s, phase="Healthy", weight=100)
    at_100 = both_sdks_at(100, server, python, node_env, shares)
    assert at_50 <= at_100 == set(range(KEYS))
    print(f"shares by step (10%, 50%, 100%): {shares}; {time.monotonic() - started:.0f}s")


def test_a_failing_prometheus_analysis_sends_every_client_of_both_sdks_back_to_the_default(
    cluster: Cluster,
    namespace: str,
    start_controller: Callable[..., ControllerProcess],
    prometheus: PrometheusServer,
    source: MetricsSource,
    flag_server: Callable[[], ServeProcess],
) -> None:
    started = time.monotonic()
    _start_controller(start_controller, namespace)
    s = Scenario(cluster, namespace)
    server = flag_server()
    python = python_client(server.url, f"abort-{namespace}", {"X-API-Key": TOKEN})
    node_env = js_env()
    shares: dict[str, list[float]] = {}
    # Given a flag watched by a background analysis on Prometheus, promoted to 50% while the error ratio is low
    s.given(_template(prometheus, "# no count: it reads until the rollout ends") + "---\n" + _flag(namespace, WATCHED))
    _then(s, phase="Paused", weight=10, currentStepIndex=1)
    flags_verb(cluster, namespace, "promote", FLAG)
    _then(s, phase="Paused", weight=50, currentStepIndex=3)
    at_50 = both_sdks_at(50, server, python, node_env, shares)
    [run] = _prometheus_runs(s)
    assert run["metadata"]["name"].endswith("-background")
    # When the new variant's error ratio rises
    source.set(ERROR_RATIO, 0.4)
    breached = time.monotonic()
    # Then the analysis fails and the flag closes itself: weight 0, Degraded, the message naming the run
    status = _then(s, phase="Degraded", weight=0)
    closed_after = time.monotonic() - breached
    assert status["abort"] is True
    assert f'AnalysisRun "{run["metadata"]["name"]}" Failed' in status["message"]
    [result] = s.get("analysisrun", run["metadata"]["name"])["status"]["metricResults"]
    assert (result["phase"], result["measurements"][-1]["value"]) == ("Failed", "[0.4]")
    # and every key of both SDKs, the ~5,000 on the new variant among them, gets the default variant
    at_0 = both_sdks_at(0, server, python, node_env, shares)
    assert at_0 == set() and len(at_50) > 0
    print(
        f"shares (50%, after the failed analysis): {shares}; flag closed {closed_after:.1f}s after the breach; "
        f"{time.monotonic() - started:.0f}s"
    )


def test_errors_reach_both_sdks_as_their_documented_codes_in_cluster_mode(
    cluster: Cluster,
    namespace: str,
    start_controller: Callable[..., ControllerProcess],
    flag_server: Callable[[], ServeProcess],
) -> None:
    _start_controller(start_controller, namespace)
    s = Scenario(cluster, namespace)
    # Given a flag at 10% and a string flag, served in cluster mode to holders of a token
    s.given(_flag(namespace, PAUSED))
    s.given(
        f"""\
apiVersion: ramp.dev/v1alpha1
kind: FeatureFlag
metadata:
  name: banner
  labels:
    {INSTANCE_ID_LABEL}: {instance_id_for(namespace)}
spec:
  variants: {{blue: blue, red: red}}
  defaultVariant: blue
"""
    )
    _then(s, phase="Paused", weight=10)
    server = flag_server()
    wait_until(lambda: served_weight(server) == 10, 30, "the server to serve weight 10")
    client = python_client(server.url, f"errors-{namespace}", {"Authorization": f"Bearer {TOKEN}"})
    user = EvaluationContext("user-1")
    assert client.get_string_value("banner", "none", user) == "blue"

    # Python SDK: an unknown flag
    unknown = client.get_boolean_details("no-such-flag", False, user)
    assert (unknown.value, unknown.error_code, unknown.reason) == (False, ErrorCode.FLAG_NOT_FOUND, Reason.ERROR)
    # a wrong type, both ways
    as_string = client.get_string_details(KEY, "none", user)
    assert (as_string.value, as_string.error_code) == ("none", ErrorCode.TYPE_MISMATCH)
    as_boolean = client.get_boolean_details("banner", True, user)
    assert (as_boolean.value, as_boolean.error_code) == (True, ErrorCode.TYPE_MISMATCH)
    # a bad context: a targetingKey that is not a string; an empty one
    not_string = client.get_boolean_details(KEY, False, EvaluationContext(None, {"targetingKey": 7}))
    assert (not_string.value, not_string.error_code) == (False, ErrorCode.INVALID_CONTEXT)
    assert "targetingKey" in (not_string.error_message or "")
    empty = client.get_boolean_details(KEY, False, EvaluationContext(None, {"targetingKey": ""}))
    assert (empty.value, empty.error_code) == (False, ErrorCode.TARGETING_KEY_MISSING)
    # no targetingKey at all: served, as documented (nothing to bucket by: the default variant, no error)
    missing = client.get_boolean_details(KEY, True, EvaluationContext(None, {"country": "nl"}))
    assert (missing.value, missing.variant, missing.reason, missing.error_code) == (False, "off", Reason.DEFAULT, None)
    # no token, a wrong token: the provider's GENERAL error, its message saying which
    anonymous = python_client(server.url, f"anonymous-{namespace}").get_boolean_details(KEY, True, user)
    assert (anonymous.value, anonymous.error_code, anonymous.error_message) == (True, ErrorCode.GENERAL, "unauthorized")
    stranger = python_client(server.url, f"stranger-{namespace}", {"X-API-Key": "guessed"})
    refused = stranger.get_boolean_details(KEY, True, user)
    assert (refused.value, refused.error_code, refused.error_message) == (True, ErrorCode.GENERAL, "forbidden")

    # JavaScript SDK: the same cases, each with the default from the code
    node_env = js_env()
    codes = run_js(node_env, "codes", server.url, KEY, headers={"Authorization": f"Bearer {TOKEN}"})
    assert codes == {
        "unknown": {"value": False, "reason": "ERROR", "errorCode": "FLAG_NOT_FOUND"},
        "mismatch": {"value": 7, "reason": "ERROR", "errorCode": "TYPE_MISMATCH"},
        "badContext": {"value": False, "reason": "ERROR", "errorCode": "INVALID_CONTEXT"},
        "emptyKey": {"value": False, "reason": "ERROR", "errorCode": "TARGETING_KEY_MISSING"},
        "missingKey": {"value": False, "reason": "DEFAULT", "errorCode": None},
        "plain": codes["plain"],
    }
    assert codes["plain"]["errorCode"] is None and codes["plain"]["reason"] == "SPLIT"
    for headers in ({}, {"Authorization": "Bearer guessed"}, {"X-API-Key": "guessed"}):
        denied = run_js(node_env, "codes", server.url, KEY, headers=headers)
        assert denied["plain"] == {"value": False, "reason": "ERROR", "errorCode": "GENERAL"}, headers
        assert denied["unknown"]["errorCode"] == "GENERAL", headers
