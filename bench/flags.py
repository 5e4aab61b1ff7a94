"""Benchmark: feature-flag serving and evaluation.

1. One `ramp flags serve --file` process (pinned to one core with taskset when available) under concurrent
   keep-alive clients speaking raw HTTP/1.1 (a cheap load generator, so the client's cost does not hide the
   server's): the most evaluations/s it answers (closed loop), then p50/p99 latency at a fixed offered rate
   (open loop; goal: p99 under 5 ms at 2,000 evaluations/s on one core).
2. The cost of one evaluation in Ramp's evaluator beside flagd's own evaluator cores on the same flag definitions
   and contexts, in the same run: `openfeature-flagd-core` (PyPI, in-process) and `@openfeature/flagd-core` (npm,
   under node; installed from tests/e2e/flags_js's lockfile into ~/.cache/ramp/npm).
Run: `.venv/bin/python bench/flags.py [--rate 2000] [--duration 10] [--connections 16] [--iterations 20000]`
(no cluster needed).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.e2e.npm_env import ensure_npm_env  # noqa: E402

from ramp.flags.definitions import check_document  # noqa: E402
from ramp.flags.evaluator import resolve  # noqa: E402

DOCUMENT: dict[str, Any] = {
    "flags": {
        "static": {"state": "ENABLED", "variants": {"on": True, "off": False}, "defaultVariant": "off"},
        "rule": {
            "state": "ENABLED",
            "variants": {"on": True, "off": False},
            "defaultVariant": "off",
            "targeting": {
                "if": [
                    {
                        "and": [
                            {"ends_with": [{"var": "email"}, "@example.com"]},
                            {"in": [{"var": "country"}, ["DE", "FR"]]},
                        ]
                    },
                    "on",
                    "off",
                ]
            },
        },
        "rollout": {
            "state": "ENABLED",
            "variants": {"on": True, "off": False},
            "defaultVariant": "off",
            "targeting": {"fractional": [["on", 20], ["off", 80]]},
        },
        "rollout-with-rule": {
            "state": "ENABLED",
            "variants": {"on": True, "off": False},
            "defaultVariant": "off",
            "targeting": {
                "if": [
                    {"sem_ver": [{"var": "version"}, ">=", "2.0.0"]},
                    {"fractional": [["on", 50], ["off", 50]]},
                    "off",
                ]
            },
        },
    }
}


def contexts(count: int) -> list[dict[str, Any]]:
    return [
        {
            "targetingKey": f"user-{i}",
            "email": f"user-{i}@{'example.com' if i % 3 else 'other.org'}",
            "country": ["DE", "FR", "US"][i % 3],
            "version": f"{1 + i % 3}.{i % 7}.0",
        }
        for i in range(count)
    ]


# -- 1. the server under load -----------------------------------------------------------------------------------


def start_server(flag_file: Path, cpu: int | None) -> tuple[subprocess.Popen[bytes], int]:
    ramp = str(Path(sys.executable).parent / "ramp")
    command = [ramp, "flags", "serve", "--file", str(flag_file), "--port", "0"]
    if cpu is not None and shutil.which("taskset"):
        command = ["taskset", "-c", str(cpu), *command]
    log = flag_file.with_suffix(".log")
    with log.open("wb") as sink:
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=sink)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        for line in log.read_text().splitlines():
            if line.startswith("listening on port "):
                return process, int(line.rsplit(" ", 1)[1])
        if process.poll() is not None:
            raise SystemExit(f"ramp flags serve exited: {log.read_text()}")
        time.sleep(0.05)
    raise SystemExit("ramp flags serve did not start")


def request_bytes(flag: str, key: str) -> bytes:
    body = json.dumps({"context": {"targetingKey": key, "email": f"{key}@example.com", "country": "DE"}}).encode()
    head = (
        f"POST /ofrep/v1/evaluate/flags/{flag} HTTP/1.1\r\nHost: bench\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode()
    return head + body


async def one(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, request: bytes) -> None:
    writer.write(request)
    head = await reader.readuntil(b"\r\n\r\n")
    if not head.startswith(b"HTTP/1.1 200"):
        raise RuntimeError(head.decode(errors="replace"))
    length = 0
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":", 1)[1])
    await reader.readexactly(length)


async def load(port: int, connections: int, duration: float, rate: float | None) -> tuple[int, list[float]]:
    """Closed loop (rate None: as fast as answers come) or open loop at `rate` evaluations/s in total."""
    flags = list(DOCUMENT["flags"])
    latencies: list[float] = []
    done = 0
    end = time.perf_counter() + duration

    async def client(index: int) -> None:
        nonlocal done
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        interval = connections / rate if rate else 0.0
        next_at = time.perf_counter() + index * (interval / connections if rate else 0.0)
        i = 0
        while True:
            if rate:
                pause = next_at - time.perf_counter()
                if pause > 0:
                    await asyncio.sleep(pause)
                next_at += interval
            if time.perf_counter() >= end:
                break
            request = request_bytes(flags[i % len(flags)], f"user-{index}-{i}")
            started = time.perf_counter()
            await one(reader, writer, request)
            latencies.append(time.perf_counter() - started)
            done += 1
            i += 1
        writer.close()

    await asyncio.gather(*(client(index) for index in range(connections)))
    return done, latencies


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def bench_server(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as scratch:
        flag_file = Path(scratch) / "flags.json"
        flag_file.write_text(json.dumps(DOCUMENT))
        process, port = start_server(flag_file, args.cpu)
        try:
            closed = args.duration / 2
            count, _ = asyncio.run(load(port, args.connections, closed, None))
            print(f"server, closed loop ({args.connections} connections): {count / closed:,.0f} evaluations/s")
            count, latencies = asyncio.run(load(port, args.connections, args.duration, args.rate))
            print(
                f"server, offered {args.rate:,.0f}/s: answered {count / args.duration:,.0f}/s, "
                f"p50 {percentile(latencies, 0.50) * 1000:.2f} ms, p99 {percentile(latencies, 0.99) * 1000:.2f} ms "
                f"(goal: p99 < 5 ms at 2,000/s on one core)"
            )
        finally:
            process.send_signal(signal.SIGTERM)
            process.wait(10)


# -- 2. per-evaluation cost beside flagd's cores ----------------------------------------------------------------


def ramp_costs(iterations: int, ctxs: list[dict[str, Any]]) -> dict[str, float]:
    flags, evaluators = check_document(DOCUMENT)
    costs: dict[str, float] = {}
    now = int(time.time())
    for key, definition in flags.items():
        started = time.perf_counter()
        for i in range(iterations):
            resolve(key, definition, ctxs[i % len(ctxs)], evaluators=evaluators, timestamp=now)
        costs[key] = (time.perf_counter() - started) / iterations * 1e6
    return costs


def flagd_python_costs(iterations: int, ctxs: list[dict[str, Any]]) -> dict[str, float]:
    from openfeature.contrib.tools.flagd.core import FlagdCore
    from openfeature.evaluation_context import EvaluationContext

    core = FlagdCore()
    core.set_flags(json.dumps(DOCUMENT))
    contexts_ = [
        EvaluationContext(c["targetingKey"], {k: v for k, v in c.items() if k != "targetingKey"}) for c in ctxs
    ]
    costs: dict[str, float] = {}
    for key in DOCUMENT["flags"]:
        started = time.perf_counter()
        for i in range(iterations):
            core.resolve_boolean_value(key, False, contexts_[i % len(contexts_)])
        costs[key] = (time.perf_counter() - started) / iterations * 1e6
    return costs


def flagd_js_costs(iterations: int, ctxs: list[dict[str, Any]]) -> dict[str, float]:
    env = ensure_npm_env("flags-e2e", ROOT / "tests" / "e2e" / "flags_js")
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as handle:
        json.dump({"document": DOCUMENT, "contexts": ctxs, "iterations": iterations}, handle)
    try:
        done = subprocess.run(
            ["node", "bench_flagd_core.cjs", handle.name], cwd=env, capture_output=True, text=True, check=True
        )
    finally:
        Path(handle.name).unlink()
    costs: dict[str, float] = json.loads(done.stdout)
    return costs


def bench_evaluators(args: argparse.Namespace) -> None:
    ctxs = contexts(1000)
    ramp = ramp_costs(args.iterations, ctxs)
    flagd_py = flagd_python_costs(args.iterations, ctxs)
    flagd_js = flagd_js_costs(args.iterations, ctxs)
    print(f"\none evaluation, microseconds ({args.iterations:,} evaluations per flag, 1,000 contexts):")
    print(f"{'flag':<20}{'ramp':>10}{'flagd-core py':>16}{'flagd-core js':>16}{'py/ramp':>10}{'js/ramp':>10}")
    for key in DOCUMENT["flags"]:
        print(
            f"{key:<20}{ramp[key]:>10.2f}{flagd_py[key]:>16.2f}{flagd_js[key]:>16.2f}"
            f"{flagd_py[key] / ramp[key]:>10.2f}{flagd_js[key] / ramp[key]:>10.2f}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None)
    parser.add_argument("--rate", type=float, default=2000.0, help="offered evaluations/s in the open-loop phase")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds of the open-loop phase")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--cpu", type=int, default=0, help="core to pin the server to (taskset); -1: no pinning")
    parser.add_argument("--iterations", type=int, default=20_000, help="evaluations per flag in the cost comparison")
    args = parser.parse_args()
    if args.cpu < 0:
        args.cpu = None
    bench_server(args)
    bench_evaluators(args)


if __name__ == "__main__":
    main()
