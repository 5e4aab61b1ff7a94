"""A real Prometheus for tests: Debian bookworm's `prometheus` package, run as plain binaries on 127.0.0.1.

The package is fetched once with `apt-get download` (after `apt-get update` if the first try fails) and
unpacked with `dpkg-deb -x` into `$RAMP_CACHE/prometheus` (the cache root of `ramp.localcluster.paths`), so
CI's fresh clones and later runs reuse it; a lock file keeps concurrent test processes from unpacking twice.

`start_prometheus` gives a server with two kinds of data, usable together:
- history: OpenMetrics text turned into TSDB blocks by `promtool tsdb create-blocks-from openmetrics` before the
  server starts. Timestamps are Unix seconds; any range works, including one that ends at the current time (the
  TSDB merges blocks with its head; overlapping blocks are allowed since 2.39). An instant query at time T sees a
  series' newest sample at most 5 minutes older than T (Prometheus' lookback), so a history meant for queries
  "now" should end within the last minutes; range queries over "now - 10m .. now" see every sample in it.
- live values: scrape targets served by the test, scraped every second (queryable after about 2-5 s;
  `PrometheusServer.wait_until_queryable` waits for them).

Used by tests/e2e/test_provider_prometheus.py and by the judge's tests.
"""

from __future__ import annotations

import fcntl
import json
import math
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx

from ramp.localcluster.paths import cache_paths

PACKAGE = "prometheus"
READY_TIMEOUT_SECONDS = 60.0


class PrometheusUnavailable(RuntimeError):
    """Prometheus could not be fetched, unpacked or started; the message says what to do."""


@dataclass(frozen=True)
class PrometheusBinaries:
    prometheus: Path
    promtool: Path


@dataclass
class PrometheusServer:
    """A running Prometheus; `url` is its base address (http://127.0.0.1:PORT)."""

    url: str
    process: subprocess.Popen[bytes]
    directory: Path
    log_path: Path
    stopped: bool = field(default=False)

    def stop(self) -> None:
        """Stop the server and wait for it to exit (idempotent)."""
        if self.stopped:
            return
        self.stopped = True
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=15)

    def query(self, promql: str) -> Any:
        """`data.result` of an instant query (for test set-up; the code under test brings its own client)."""
        response = httpx.get(f"{self.url}/api/v1/query", params={"query": promql}, timeout=10)
        response.raise_for_status()
        return response.json()["data"]["result"]

    def wait_until_queryable(self, promql: str, timeout: float = 30.0) -> Any:
        """Poll an instant query until it returns a non-empty result (scraped values take a few seconds)."""
        deadline = time.monotonic() + timeout
        while True:
            result = self.query(promql)
            if result:
                return result
            if time.monotonic() > deadline:
                raise TimeoutError(f"{promql!r} returned nothing within {timeout:g}s; log: {self.log_path}")
            time.sleep(0.5)

    def __enter__(self) -> PrometheusServer:
        return self

    def __exit__(self, *problem: object) -> None:
        self.stop()


def install_prometheus() -> PrometheusBinaries:
    """The prometheus and promtool binaries, downloaded and unpacked into the cache on first use."""
    root = cache_paths().root / "prometheus"
    binaries = PrometheusBinaries(root / "usr" / "bin" / "prometheus", root / "usr" / "bin" / "promtool")
    if _is_installed(binaries):
        return binaries
    root.parent.mkdir(parents=True, exist_ok=True)
    with _locked(root.parent / "prometheus.lock"):
        if _is_installed(binaries):
            return binaries
        with tempfile.TemporaryDirectory(dir=root.parent, prefix="prometheus-download-") as scratch:
            package = _download_package(Path(scratch))
            unpacked = Path(scratch) / "unpacked"
            _run(["dpkg-deb", "-x", str(package), str(unpacked)], f"unpacking {package.name}")
            shutil.rmtree(root, ignore_errors=True)
            unpacked.rename(root)
    if not _is_installed(binaries):
        raise PrometheusUnavailable(f"the {PACKAGE} package unpacked into {root} has no usr/bin/prometheus")
    return binaries


def start_prometheus(
    tmp_path: Path, openmetrics: str | None = None, scrape_targets: list[str] | None = None
) -> PrometheusServer:
    """Start Prometheus on a free port with `openmetrics` as its history and `scrape_targets` scraped every second.

    Targets are "127.0.0.1:PORT" (scraped at /metrics) or full URLs such as "http://127.0.0.1:PORT/stats".
    Returns once the server reports ready; the caller stops it (`stop()`, or use it as a context manager).
    """
    binaries = install_prometheus()
    directory = Path(tempfile.mkdtemp(dir=tmp_path, prefix="prometheus-"))
    data = directory / "data"
    data.mkdir()
    if openmetrics is not None:
        history = directory / "data.om"
        text = openmetrics.rstrip("\n")
        history.write_text(text + "\n" if text.endswith("# EOF") else text + "\n# EOF\n")
        _run(
            [str(binaries.promtool), "tsdb", "create-blocks-from", "openmetrics", str(history), str(data)],
            "building the history with promtool",
            cwd=directory,
        )
    config = directory / "prometheus.yml"
    config.write_text(format_config(scrape_targets or []))
    port = _free_port()
    log_path = directory / "prometheus.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [
                str(binaries.prometheus),
                f"--config.file={config}",
                f"--storage.tsdb.path={data}",
                f"--web.listen-address=127.0.0.1:{port}",
                # Retention counts back from the newest data: fixed-date histories stay whole.
                "--storage.tsdb.retention.time=10y",
            ],
            cwd=directory,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    server = PrometheusServer(f"http://127.0.0.1:{port}", process, directory, log_path)
    try:
        _wait_until_ready(server)
    except BaseException:
        server.stop()
        raise
    return server


def format_config(scrape_targets: Sequence[str]) -> str:
    """prometheus.yml: every second, one job per target (a JSON document is valid YAML)."""
    jobs = []
    for number, target in enumerate(scrape_targets):
        parts = urlsplit(target if "://" in target else f"http://{target}")
        jobs.append(
            {
                "job_name": f"target-{number}",
                "scheme": parts.scheme,
                "metrics_path": parts.path or "/metrics",
                "static_configs": [{"targets": [parts.netloc]}],
            }
        )
    global_settings = {"scrape_interval": "1s", "scrape_timeout": "1s", "evaluation_interval": "1s"}
    return json.dumps({"global": global_settings, "scrape_configs": jobs}, indent=2)


def format_openmetrics(families: Mapping[str, Iterable[tuple[Mapping[str, str], float, float]]]) -> str:
    """OpenMetrics text for promtool: {metric name: [(labels, unix seconds, value), ...]} as gauges.

    Samples are grouped by series and put in time order, as the TSDB requires; the text ends with "# EOF".
    """
    lines: list[str] = []
    for name, samples in families.items():
        lines.append(f"# TYPE {name} gauge")
        by_series: dict[tuple[tuple[str, str], ...], list[tuple[float, float]]] = {}
        for labels, timestamp, value in samples:
            by_series.setdefault(tuple(sorted(labels.items())), []).append((timestamp, value))
        for labels_key, points in by_series.items():
            rendered = ",".join(f'{label}="{_escape(text)}"' for label, text in labels_key)
            selector = f"{name}{{{rendered}}}" if rendered else name
            lines.extend(f"{selector} {_number(value)} {_number(moment)}" for moment, value in sorted(points))
    lines.append("# EOF")
    return "\n".join(lines) + "\n"


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _number(number: float) -> str:
    if math.isnan(number):
        return "NaN"
    if number in (float("inf"), float("-inf")):
        return "+Inf" if number > 0 else "-Inf"
    return repr(int(number)) if float(number).is_integer() else repr(float(number))


def _is_installed(binaries: PrometheusBinaries) -> bool:
    return binaries.prometheus.is_file() and binaries.promtool.is_file()


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    with path.open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _download_package(folder: Path) -> Path:
    if shutil.which("apt-get") is None or shutil.which("dpkg-deb") is None:
        raise PrometheusUnavailable(
            f"fetching Prometheus needs apt-get and dpkg-deb (a Debian machine); or unpack Debian's {PACKAGE} "
            f"package into {cache_paths().root / 'prometheus'} (usr/bin/prometheus and usr/bin/promtool)"
        )
    first = subprocess.run(["apt-get", "download", PACKAGE], check=False, cwd=folder, capture_output=True, text=True)
    if first.returncode != 0:
        # The package lists may be missing or stale on a new machine.
        subprocess.run(["apt-get", "update"], check=False, capture_output=True, text=True)
        _run(["apt-get", "download", PACKAGE], f"downloading Debian's {PACKAGE} package", cwd=folder)
    packages = sorted(folder.glob(f"{PACKAGE}_*.deb"))
    if not packages:
        raise PrometheusUnavailable(f"apt-get download {PACKAGE} left no .deb in {folder}")
    return packages[-1]


def _run(command: list[str], what: str, cwd: Path | None = None) -> None:
    try:
        done = subprocess.run(command, check=False, cwd=cwd, capture_output=True, text=True, timeout=600)
    except (OSError, subprocess.TimeoutExpired) as problem:
        raise PrometheusUnavailable(f"{what} failed: {problem}") from problem
    if done.returncode != 0:
        output = (done.stderr or done.stdout).strip()[-2000:]
        raise PrometheusUnavailable(f"{what} failed ({' '.join(command)}, exit {done.returncode}):\n{output}")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _wait_until_ready(server: PrometheusServer) -> None:
    deadline = time.monotonic() + READY_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise PrometheusUnavailable(
                f"Prometheus exited with {server.process.returncode}:\n{_tail(server.log_path)}"
            )
        try:
            if httpx.get(f"{server.url}/-/ready", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise PrometheusUnavailable(
        f"Prometheus was not ready within {READY_TIMEOUT_SECONDS:g}s:\n{_tail(server.log_path)}"
    )


def _tail(path: Path) -> str:
    return "\n".join(path.read_text(errors="replace").splitlines()[-20:])
