"""The `/metrics` text, written straight from the values for the per-object series.

prometheus_client's `generate_latest` builds a `Sample` (with a label dict) for every line, then sorts, checks and
escapes each label name and value one by one: about 12 us a line. With 5,000 Rollouts the page has 90,000 lines
(each Rollout's reconcile histogram, info and phase gauges, events), so one scrape took 1.1 s of CPU, and every
scrape competes with the reconciles for the interpreter.

Collectors that can write their own text (`TextExposed`: `kube.metrics`' per-object counters and histograms,
`rollout.metrics`' gauges) do so here, line by line from their values, with the same bytes `generate_latest`
would give (the tests compare the two); every other collector (process metrics, work queues) goes through
`generate_latest` as before.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Sequence
from typing import Protocol, runtime_checkable

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector
from prometheus_client.utils import floatToGoString


@runtime_checkable
class TextExposed(Protocol):
    """A collector that writes its own families in the text format, as `generate_latest` would."""

    def exposition(self) -> Iterable[str]: ...


CHUNK_BYTES = 64 * 1024
"""About this much text per chunk of the page (`render_chunks`)."""


def render(registry: CollectorRegistry) -> bytes:
    """The registry in the Prometheus text format: the same bytes as `generate_latest(registry)`."""
    return b"".join(render_chunks(registry))


def render_chunks(registry: CollectorRegistry) -> list[bytes]:
    """`render`'s bytes in chunks of about `CHUNK_BYTES`, which the endpoint writes one after another: the page (8 MB
    at 5,000 Rollouts) is never held as lines, as one string and as its bytes at the same time."""
    chunks: list[bytes] = []
    pending: list[str] = []
    size = 0
    for collector in _collectors(registry):
        texts = collector.exposition() if isinstance(collector, TextExposed) else [_generated(collector)]
        for text in texts:
            pending.append(text)
            size += len(text)
            if size >= CHUNK_BYTES:
                chunks.append("".join(pending).encode("utf-8"))
                pending.clear()
                size = 0
    if pending:
        chunks.append("".join(pending).encode("utf-8"))
    return chunks


def _generated(collector: Collector) -> str:
    return generate_latest(_Alone(collector)).decode("utf-8")


def _collectors(registry: CollectorRegistry) -> list[Collector]:
    # The registry keeps its collectors in registration order, the order `generate_latest` writes them in.
    with registry._lock:
        return list(registry._collector_to_names)


class _Alone:
    """One collector, as the registry `generate_latest` reads."""

    def __init__(self, collector: Collector) -> None:
        self._collector = collector

    def collect(self) -> Iterable[Metric]:
        return self._collector.collect()


def header(name: str, documentation: str, kind: str) -> str:
    """The HELP and TYPE lines of a family (`kind` as the text format names it: counter, gauge, histogram,
    untyped); `name` as exposed (a counter's with `_total`)."""
    help_text = documentation.replace("\\", r"\\").replace("\n", r"\n")
    return f"# HELP {name} {help_text}\n# TYPE {name} {kind}\n"


class LabelWriter:
    """Writes `{a="x",b="y"}` for one family's label names (and optionally one more label of our own, such as a
    histogram bucket's `le`): in name order, as `generate_latest` sorts them, values escaped."""

    def __init__(self, labelnames: Sequence[str], extra: str | None = None) -> None:
        names = [*labelnames, *([extra] if extra is not None else [])]
        self._order = sorted(range(len(names)), key=lambda i: names[i])
        self._template = "{" + ",".join(f'{names[i]}="%s"' for i in self._order) + "}" if names else ""

    def prepare(self, values: Sequence[str]) -> list[str]:
        """The values escaped, to write one series' lines with `write`."""
        return [escape(value) for value in values]

    def write(self, prepared: list[str], extra: str | None = None) -> str:
        """The label text of prepared values; `extra` (our own value, written as is) for the extra label."""
        values = prepared if extra is None else [*prepared, extra]
        return self._template % tuple([values[i] for i in self._order])

    def __call__(self, values: Sequence[str]) -> str:
        return self.write(self.prepare(values))


def escape(value: str) -> str:
    """A label value escaped as the text format wants (backslash, newline, double quote)."""
    if "\\" in value or "\n" in value or '"' in value:
        return value.replace("\\", r"\\").replace("\n", r"\n").replace('"', r"\"")
    return value


def go_float(value: float) -> str:
    """A sample value as `floatToGoString` prints it (Go's formatting): Python's repr, except for infinities, NaN
    and numbers from a million up, which Go prints with an exponent sooner."""
    value = float(value)
    if -math.inf < value < 1e6:
        return repr(value)
    return str(floatToGoString(value))  # type: ignore[no-untyped-call]


def lines(name: str, rows: Iterable[tuple[str, float]]) -> Iterator[str]:
    """`name{labels} value` lines from (label text, value) rows."""
    for labels, value in rows:
        yield f"{name}{labels} {go_float(value)}\n"
