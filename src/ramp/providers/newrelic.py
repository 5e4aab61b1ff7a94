"""The `newRelic` metric provider: one NRQL query per measurement, sent through New Relic's NerdGraph (GraphQL).

Follows upstream Argo Rollouts' documented behaviour: the Secret named by `profile` (default "newrelic") in the
controller's namespace holds `personal-api-key` and `account-id`, and optionally `region` ("us" by default; also
"eu", "jp", "gov", "staging") and `base-url-nerdgraph` (a proxy's GraphQL URL, which replaces the region's);
`base-url-rest` is accepted and unused, as NRQL goes through NerdGraph only. `timeout` (default 5 seconds) is the
NRQL timeout New Relic applies. One result row is the `result` the conditions see (a map such as
`{"successRate": 99.5}`); several rows are a list of maps; the status text is the rows as Go's
`encoding/json` writes them. No rows, or one empty row, is an error, as upstream.

Works with `ramp.providers.base` (the contract), `ramp.providers.go_text` (upstream's JSON text) and
`ramp.providers.prometheus_api` (transport error wording).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from ramp.api.providers import NewRelicMetric
from ramp.providers.base import MeasurementContext, Reading, SecretReader, SingleShotProvider, describe_exception
from ramp.providers.go_text import format_go_json
from ramp.providers.prometheus_api import describe_http_error

DEFAULT_SECRET_NAME = "newrelic"
DEFAULT_NRQL_TIMEOUT_SECONDS = 5
HTTP_TIMEOUT_SECONDS = 60.0
"""The whole call; generous because New Relic itself stops the query after the NRQL timeout."""

NERDGRAPH_URLS = {
    "us": "https://api.newrelic.com/graphql",
    "eu": "https://api.eu.newrelic.com/graphql",
    "jp": "https://api.jp.newrelic.com/graphql",
    "gov": "https://gov-api.newrelic.com/graphql",
    "fedramp": "https://gov-api.newrelic.com/graphql",
    "staging": "https://staging-api.newrelic.com/graphql",
}

NRQL_QUERY = """query ($query: Nrql!, $accountId: Int!, $timeout: Seconds!) {
  actor { account(id: $accountId) { nrql(query: $query, timeout: $timeout) { results } } }
}"""


class NewRelicError(ValueError):
    """A query that could not be made or whose answer cannot be read; the message says why."""


@dataclass(frozen=True)
class Account:
    api_key: str
    account_id: int
    nerdgraph_url: str


class NewRelicProvider(SingleShotProvider):
    """Runs one NRQL query per measurement."""

    key = "newRelic"

    async def measure(self, context: MeasurementContext) -> Reading:
        spec = context.metric.provider.new_relic
        if spec is None:
            return Reading.error("the metric has no provider.newRelic settings")
        try:
            secret_name = spec.profile or DEFAULT_SECRET_NAME
            data = await read_profile(context.read_secret, context.controller_namespace, secret_name)
            account = read_account(data, f"{context.controller_namespace}/{secret_name}")
            body = build_query(spec, account.account_id)
            response = await send_query(context.http, account, body)
            return read_answer(response.status_code, response.content)
        except NewRelicError as problem:
            return Reading.error(str(problem))


async def read_profile(read_secret: SecretReader | None, namespace: str, name: str) -> Mapping[str, str]:
    if read_secret is None:
        raise NewRelicError(f"cannot read Secret {namespace}/{name}: Secrets cannot be read here")
    try:
        return await read_secret(namespace, name)
    except Exception as problem:  # reported on the measurement, like any other failure to query
        raise NewRelicError(f"cannot read Secret {namespace}/{name}: {describe_exception(problem)}") from None


def read_account(data: Mapping[str, str], secret: str) -> Account:
    """The account settings from the profile Secret's data; raises NewRelicError naming the key to fix."""
    api_key, account_id = data.get("personal-api-key", ""), data.get("account-id", "")
    if not api_key or not account_id:
        raise NewRelicError(f"Secret {secret} needs the keys personal-api-key and account-id")
    region = data.get("region", "us")
    url = NERDGRAPH_URLS.get(region.lower())
    if url is None:
        raise NewRelicError(f"Secret {secret} has an unknown region {region!r}: use us, eu, jp, gov or staging")
    try:
        number = int(account_id.strip(), 10)
    except ValueError:
        raise NewRelicError(f"Secret {secret} has an account-id that is not a number: {account_id!r}") from None
    return Account(api_key, number, data.get("base-url-nerdgraph") or url)


def build_query(spec: NewRelicMetric, account_id: int) -> dict[str, Any]:
    """The GraphQL request body for the metric's NRQL query."""
    timeout = DEFAULT_NRQL_TIMEOUT_SECONDS if spec.timeout is None else spec.timeout
    if timeout < 0:
        raise NewRelicError(f"provider.newRelic.timeout must not be negative, not {timeout}")
    return {"query": NRQL_QUERY, "variables": {"accountId": account_id, "query": spec.query, "timeout": timeout}}


async def send_query(http: httpx.AsyncClient, account: Account, body: Mapping[str, Any]) -> httpx.Response:
    try:
        return await http.post(
            account.nerdgraph_url,
            content=json.dumps(body).encode(),
            headers={"Api-Key": account.api_key, "Content-Type": "application/json", "User-Agent": "ramp"},
            timeout=httpx.Timeout(HTTP_TIMEOUT_SECONDS),
        )
    except httpx.TimeoutException:
        raise NewRelicError(
            f"New Relic at {account.nerdgraph_url} did not answer within {HTTP_TIMEOUT_SECONDS:g}s"
        ) from None
    except httpx.HTTPError as failure:
        raise NewRelicError(
            f"cannot reach New Relic at {account.nerdgraph_url}: {describe_http_error(failure)}"
        ) from None


def read_answer(status: int, body: bytes) -> Reading:
    """The reading for a NerdGraph answer: one row as a map, several as a list of maps."""
    text = body.decode("utf-8", "replace").strip()
    try:
        document = json.loads(body)
    except ValueError:
        document = None
    errors = document.get("errors") if isinstance(document, dict) else None
    if errors:
        raise NewRelicError(f"New Relic refused the query: {describe_errors(errors)}")
    if not 200 <= status < 300:
        raise NewRelicError(f"New Relic answered HTTP {status}: {text}")
    if not isinstance(document, dict):
        raise NewRelicError("New Relic's answer is not a JSON object")
    rows = find_rows(document)
    if not rows or (len(rows) == 1 and not rows[0]):
        raise NewRelicError("no results returned from NRQL query")
    if len(rows) == 1:
        return Reading.evaluate(rows[0], format_go_json(rows[0]))
    return Reading.evaluate(rows, format_go_json(rows))


def find_rows(document: Mapping[str, Any]) -> list[dict[str, Any]]:
    """`data.actor.account.nrql.results`: a list of rows, each a map (an absent path reads as no rows)."""
    node: Any = document.get("data")
    for name in ("actor", "account", "nrql", "results"):
        if node is None:
            return []
        if not isinstance(node, dict):
            raise NewRelicError(f"New Relic's answer has a {name!r} parent that is not an object")
        node = node.get(name)
    if node is None:
        return []
    if not isinstance(node, list) or not all(isinstance(row, dict) for row in node):
        raise NewRelicError("New Relic's answer has NRQL results that are not a list of objects")
    return node


def describe_errors(errors: Any) -> str:
    """GraphQL errors' messages joined by ", "."""
    if not isinstance(errors, list):
        return str(errors)
    messages = [str(error.get("message")) for error in errors if isinstance(error, dict) and error.get("message")]
    return ", ".join(messages) or "no message given"
