"""Hostile analysis input on the local cluster ends quickly in a named error while an ordinary run beside it
finishes (issue 13: one tenant cannot stall everyone).

- a successCondition with nested predicates over huge ranges is an Error measurement naming the budget it
  overran, and past consecutiveErrorLimit the run is Error;
- a dryRun `metricName` RE2 refuses (`a{99999999999}`) ends the run in Error naming the field;
- a `matches` on a backtracking pattern (`^(a+)+$`) is answered by RE2 at once;
- an ordinary run in the same namespace is Successful beside them.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from tests.e2e.harness import Cluster, ControllerProcess, wait_until
from tests.e2e.scenario import Scenario
from tests.e2e.test_analysis_run import (
    MetricsEndpoint,
    _measurements,
    _run,
    _then_run,
    endpoint_fixture,  # noqa: F401 (the `endpoint` fixture)
    start_namespaced,
)


def _with(manifest: str, **spec: Any) -> str:
    document = json.loads(manifest)
    document["spec"].update(spec)
    return json.dumps(document)


def test_hostile_conditions_and_patterns_end_in_named_errors_beside_an_ordinary_run(
    cluster: Cluster,
    namespace: str,
    start_controller: Callable[..., ControllerProcess],
    endpoint: MetricsEndpoint,
) -> None:
    start_namespaced(start_controller, namespace)
    s = Scenario(cluster, namespace)
    endpoint.documents["/word"] = {"ratio": "a" * 40 + "!"}
    # Given a run whose successCondition nests predicates over huge ranges, tolerating one error in a row
    s.given(
        _run(
            "nested",
            endpoint.url("/healthy"),
            interval="1s",
            count=3,
            consecutiveErrorLimit=1,
            successCondition="all(0..999999, {all(0..999999, {true})})",
        )
    )
    # And a run whose dryRun metricName is a pattern RE2 refuses
    s.given(
        _with(
            _run("repeat", endpoint.url("/healthy"), successCondition="result >= 0.95"),
            dryRun=[{"metricName": "a{99999999999}"}],
        )
    )
    # And a run matching a backtracking pattern against 40 a's and a "!"
    s.given(_run("backtrack", endpoint.url("/word"), failureCondition="result matches '^(a+)+$'"))
    # And an ordinary run
    s.given(_run("ordinary", endpoint.url("/healthy"), interval="1s", count=2, successCondition="result >= 0.95"))

    # Then the nested condition's measurement is Error naming the budget it overran
    first = wait_until(lambda: _measurements(s.get("analysisrun", "nested")), 60, "a measurement of nested")
    assert first[0]["phase"] == "Error"
    assert first[0]["message"].startswith('could not evaluate successCondition "all(0..999999')
    assert "exceeded its budget of" in first[0]["message"] and "simplify it" in first[0]["message"]
    # And the refused pattern ends its run in Error naming the field
    repeat = _then_run(s, "repeat", "Error")
    assert "dryRun[0].metricName: invalid regular expression" in repeat["status"]["message"]
    # And RE2 answers the backtracking pattern: no match, so the failureCondition is not met
    backtrack = _then_run(s, "backtrack", "Successful")
    assert [m["phase"] for m in _measurements(backtrack)] == ["Successful"]
    # And the ordinary run is Successful beside them
    ordinary = _then_run(s, "ordinary", "Successful")
    assert [m["phase"] for m in _measurements(ordinary)] == ["Successful", "Successful"]
    # And the nested run ends in Error past its consecutiveErrorLimit
    nested = _then_run(s, "nested", "Error", timeout=60)
    assert nested["status"]["message"].startswith('Metric "ratio" assessed Error due to consecutiveErrors (2)')
