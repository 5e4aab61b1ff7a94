"""`ramp flags serve` and the real OpenFeature SDKs, shared by the flag e2e tests.

- `start_flag_server(args, log)`: `ramp flags serve ... --port 0` as its own process (file mode or cluster mode),
  returned once it listens; `stop_process` ends it.
- `python_client(url, name, headers)`: the real Python SDK (`openfeature-sdk` + `openfeature-provider-ofrep`).
- `js_env()` / `run_js(...)`: the real JavaScript SDK (`@openfeature/server-sdk` + `@openfeature/ofrep-provider`,
  pinned in tests/e2e/flags_js) under node, running `sdk_client.cjs` (one node process per call, never per key).
- `flags_verb(cluster, namespace, ...)`: `ramp flags promote|abort|retry|get` as a user types it.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from openfeature import api
from openfeature.contrib.provider.ofrep import OFREPProvider

from tests.e2e.harness import ROOT, Cluster, ramp_command, wait_until
from tests.e2e.npm_env import ensure_npm_env

FLAGS_JS = ROOT / "tests" / "e2e" / "flags_js"


@dataclass
class ServeProcess:
    """A running `ramp flags serve`; `url` is its base address (http://127.0.0.1:PORT)."""

    process: subprocess.Popen[bytes]
    url: str
    log: Path

    def stop(self) -> None:
        stop_process(self.process)


def start_flag_server(args: list[str], log: Path, timeout: float = 60) -> ServeProcess:
    """`ramp flags serve <args> --port 0`, its stderr in `log`; returns once it prints the port it bound."""
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [*ramp_command(), "flags", "serve", *args, "--port", "0"],
            stdout=subprocess.DEVNULL,
            stderr=sink,
            cwd=ROOT,
        )

    def port() -> int | None:
        for line in log.read_text().splitlines():
            if line.startswith("listening on port "):
                return int(line.rsplit(" ", 1)[1])
        assert process.poll() is None, log.read_text()
        return None

    try:
        bound = wait_until(port, timeout, "ramp flags serve to listen")
    except BaseException:
        stop_process(process)
        raise
    return ServeProcess(process, f"http://127.0.0.1:{bound}", log)


def stop_process(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM, then SIGKILL after 10 s."""
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def python_client(url: str, name: str, headers: dict[str, str] | None = None) -> Any:
    """A client of the real Python SDK on its own named OFREP provider."""
    # set_provider initializes on a thread: a client used at once may answer PROVIDER_NOT_READY.
    api.set_provider_and_wait(OFREPProvider(url, headers_factory=(lambda: dict(headers)) if headers else None), name)
    return api.get_client(name)


def js_env() -> Path:
    """The node project with the pinned JavaScript SDK (installed once into the npm cache)."""
    return ensure_npm_env("flags-e2e", FLAGS_JS)


def run_js(node_env: Path, *args: str, headers: dict[str, str] | None = None, timeout: float = 600) -> dict[str, Any]:
    """`node sdk_client.cjs <args>` (see its header for the modes); `headers` go on every OFREP request.

    The script runs from this checkout (tests/e2e/flags_js), its packages from the shared npm cache (NODE_PATH):
    the copy `ensure_npm_env` leaves in the cache may be another checkout's version of it.
    """
    env = {**os.environ, "NODE_NO_WARNINGS": "1", "NODE_PATH": str(node_env / "node_modules")}
    if headers:
        env["RAMP_OFREP_HEADERS"] = json.dumps(headers)
    done = subprocess.run(
        ["node", str(FLAGS_JS / "sdk_client.cjs"), *args],
        cwd=node_env,
        capture_output=True,
        text=True,
        timeout=timeout,
        env=env,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def flags_verb(cluster: Cluster, namespace: str, *args: str) -> str:
    """`ramp flags <args> -n <namespace>`; fails the test on a non-zero exit. Returns its stdout."""
    command = [
        sys.executable,
        "-m",
        "ramp.cli.main",
        "flags",
        *args,
        "-n",
        namespace,
        "--kubeconfig",
        str(cluster.kubeconfig),
    ]
    done = subprocess.run(command, capture_output=True, text=True, check=False, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout
