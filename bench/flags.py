"""Benchmark: feature-flag serving and evaluation.

1. One `ramp flags serve --file` process pinned to one core with taskset (this process, the load generator, is
   pinned to the other cores, so it never takes the server's CPU) under concurrent keep-alive clients speaking raw
   HTTP/1.1 on uvloop (a cheap load generator, so the client's cost does not hide the server's): the most
   evaluations/s it answers (closed loop), then p50/p99 latency at a fixed offered rate (open loop; goal: p99 under
   5 ms at 2,000 evaluations/s on one core), also counted from each request's scheduled send time (no coordinated
   omission). Each phase prints the server's CPU per evaluation and what other processes took of its core and of
   the load generator's (from /proc): on a shared machine that says how far the latencies are the server's own.
2. The CPU cost of one evaluation in Ramp's evaluator beside flagd's own evaluator cores on the same flag
   definitions and contexts, in the same run: `openfeature-flagd-core` (PyPI, in-process) and `@openfeature/flagd-core`
   (npm, under node; installed from tests/e2e/flags_js's lockfile into ~/.cache/ramp/npm), with how often each picks
   Ramp's variant.
Run: `.venv/bin/python bench/flags.py [--rate 2000] [--duration 10] [--connections 16] [--iterations 20000]
[--rounds 5] [--cpu 0]` (no cluster needed). docs/flags.md ("Performance") has figures and how to read them.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
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


async def connect(port: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """A keep-alive connection; a refused one is retried for a few seconds (a server that is still starting)."""
    deadline = time.monotonic() + 5
    while True:
        try:
            return await asyncio.open_connection("127.0.0.1", port)
        except ConnectionRefusedError:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.05)


async def load(port: int, connections: int, duration: float, rate: float | None) -> Load:
    """Closed loop (rate None: as fast as answers come) or open loop at `rate` evaluations/s in total."""
    flags = list(DOCUMENT["flags"])
    result = Load()
    end = time.perf_counter() + duration

    async def client(index: int) -> None:
        reader, writer = await connect(port)
        interval = connections / rate if rate else 0.0
        next_at = time.perf_counter() + index * (interval / connections if rate else 0.0)
        i = 0
        while True:
            scheduled = next_at
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
            answered = time.perf_counter()
            result.latencies.append(answered - started)
            if rate:
                result.from_schedule.append(answered - scheduled)
            i += 1
        writer.close()

    before = result.cpu_sample()
    started = time.perf_counter()
    await asyncio.gather(*(client(index) for index in range(connections)))
    result.elapsed = time.perf_counter() - started
    after = result.cpu_sample()
    result.server_cpu, result.core_busy, result.generator_cpu, result.generator_busy = (
        b - a for a, b in zip(before, after, strict=True)
    )
    return result


class Load:
    """One load phase's answers and what the server's process and core spent meanwhile (from /proc)."""

    pid = 0
    core: int | None = None
    generator_cores: frozenset[int] = frozenset()

    def __init__(self) -> None:
        self.latencies: list[float] = []
        self.from_schedule: list[float] = []
        self.elapsed = 0.0
        self.server_cpu = 0.0  # seconds of CPU the server process used
        self.core_busy = 0.0  # seconds the server's core was busy, with anyone's work
        self.generator_cpu = 0.0  # seconds of CPU this process (the load generator) used
        self.generator_busy = 0.0  # seconds the load generator's cores were busy, with anyone's work

    @classmethod
    def cpu_sample(cls) -> tuple[float, float, float, float]:
        """CPU seconds: the server's, its core's busy time, the load generator's, its cores' busy time (zeros
        where /proc cannot tell)."""
        ticks = os.sysconf("SC_CLK_TCK")
        try:
            fields = Path(f"/proc/{cls.pid}/stat").read_text().rsplit(")", 1)[1].split()
            server = (int(fields[11]) + int(fields[12])) / ticks
        except (OSError, IndexError, ValueError):
            server = 0.0
        busy: dict[int, float] = {}
        with contextlib.suppress(OSError):
            for line in Path("/proc/stat").read_text().splitlines():
                name, *values = line.split()
                if name.startswith("cpu") and name[3:].isdigit():
                    user, nice, system, _idle, _iowait, irq, softirq, steal = map(int, values[:8])
                    busy[int(name[3:])] = (user + nice + system + irq + softirq + steal) / ticks
        own = os.times()
        generator_busy = sum(busy.get(core, 0.0) for core in cls.generator_cores)
        return server, busy.get(cls.core, 0.0) if cls.core is not None else 0.0, own.user + own.system, generator_busy

    @property
    def count(self) -> int:
        return len(self.latencies)

    def cpu_line(self) -> str:
        if not self.server_cpu:
            return "server CPU: unknown (no /proc)"
        per = self.server_cpu / self.count * 1e6
        line = (
            f"server CPU {per:.0f} us/evaluation ({self.server_cpu / self.elapsed:.0%} of a core; "
            f"~{1e6 / per:,.0f} evaluations/s if it had a core to itself)"
        )
        if self.core_busy:
            line += f"; other processes took {self.others_share:.0%} of the server's core meanwhile"
        if self.generator_busy:
            others = max(0.0, self.generator_busy - self.generator_cpu) / self.elapsed
            line += (
                f"\n  load generator CPU {self.generator_cpu / self.elapsed:.0%} of a core; other processes took "
                f"{others:.0%} of its core(s) {sorted(self.generator_cores)}"
            )
        return line

    @property
    def others_share(self) -> float:
        """The share of the server's core that other processes used during the phase (0 when unknown)."""
        if not self.core_busy or not self.elapsed:
            return 0.0
        return max(0.0, self.core_busy - self.server_cpu) / self.elapsed


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def run_load(port: int, connections: int, duration: float, rate: float | None) -> Load:
    """One load phase on the load generator's own event loop (uvloop when installed: a cheaper client)."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(load(port, connections, duration, rate))
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        return runner.run(load(port, connections, duration, rate))


def pin_load_generator(server_cpu: int | None) -> str:
    """Keep the load generator (this process) off the server's core, so it never takes the server's CPU."""
    if server_cpu is None or not hasattr(os, "sched_setaffinity"):
        return "load generator and server unpinned"
    others = os.sched_getaffinity(0) - {server_cpu}
    if not others or not shutil.which("taskset"):
        return f"only core {server_cpu} available: load generator and server share it (figures are pessimistic)"
    os.sched_setaffinity(0, others)
    Load.generator_cores = frozenset(others)
    return f"server pinned to core {server_cpu}, load generator to core(s) {sorted(others)}"


def machine_line() -> str:
    """Cores, load average and CPU pressure (the share of time some task waited for a CPU, over the last 10 s)."""
    load1, load5, load15 = os.getloadavg()
    line = f"{os.cpu_count()} cores, load average {load1:.2f} {load5:.2f} {load15:.2f}"
    with contextlib.suppress(OSError, IndexError, ValueError):
        some = Path("/proc/pressure/cpu").read_text().split()[1]
        line += f", CPU pressure {float(some.split('=')[1]):.0f}% (tasks waiting for a CPU, last 10 s)"
    return line


def bench_server(args: argparse.Namespace) -> None:
    print(f"machine at the start: {machine_line()}")
    with tempfile.TemporaryDirectory() as scratch:
        flag_file = Path(scratch) / "flags.json"
        flag_file.write_text(json.dumps(DOCUMENT))
        process, port = start_server(flag_file, args.cpu)
        Load.pid, Load.core = process.pid, args.cpu
        print(pin_load_generator(args.cpu))
        try:
            run_load(port, args.connections, 1.0, None)  # warm-up: connections, caches, the flag set's table
            closed = run_load(port, args.connections, args.duration / 2, None)
            print(
                f"server, closed loop ({args.connections} connections): {closed.count / closed.elapsed:,.0f} "
                f"evaluations/s\n  {closed.cpu_line()}"
            )
            opened = run_load(port, args.connections, args.duration, args.rate)
            print(
                f"server, offered {args.rate:,.0f}/s for {args.duration:.0f} s ({args.connections} connections): "
                f"answered {opened.count / opened.elapsed:,.0f}/s, "
                f"p50 {percentile(opened.latencies, 0.50) * 1000:.2f} ms, "
                f"p99 {percentile(opened.latencies, 0.99) * 1000:.2f} ms, "
                f"max {max(opened.latencies) * 1000:.2f} ms (goal: p99 < 5 ms at 2,000/s on one core)\n"
                f"  counted from each request's scheduled time instead (no coordinated omission; adds the load "
                f"generator's timer slack): p50 {percentile(opened.from_schedule, 0.50) * 1000:.2f} ms, "
                f"p99 {percentile(opened.from_schedule, 0.99) * 1000:.2f} ms\n  {opened.cpu_line()}"
            )
            if opened.others_share > 0.25:
                print(
                    "  note: the server did not have its core to itself, so these latencies include waits for the CPU "
                    "(the server's\n  and the load generator's); its CPU per evaluation is the figure that carries "
                    "over to a dedicated core"
                )
        finally:
            process.send_signal(signal.SIGTERM)
            process.wait(10)
    print(f"machine at the end: {machine_line()}")


# -- 2. per-evaluation cost beside flagd's cores ----------------------------------------------------------------


Costs = dict[str, float]  # flag key -> microseconds per evaluation
Variants = dict[str, list[str | None]]  # flag key -> the variant chosen for each context


def timed(evaluate: Callable[[int], object], iterations: int, rounds: int) -> float:
    """CPU microseconds per call of evaluate(i), the best of `rounds` rounds.

    CPU time, not wall time: on a shared machine a process waiting for a core is not charged for the wait (the
    node side counts process.cpuUsage() the same way); the best round is the least disturbed one.
    """
    best = float("inf")
    for _ in range(rounds):
        started = time.process_time()
        for i in range(iterations):
            evaluate(i)
        best = min(best, (time.process_time() - started) / iterations)
    return best * 1e6


def ramp_costs(iterations: int, rounds: int, ctxs: list[dict[str, Any]]) -> tuple[Costs, Variants]:
    flags, evaluators = check_document(DOCUMENT)
    now = int(time.time())
    costs: Costs = {}
    variants: Variants = {}
    for key, definition in flags.items():

        def evaluate(i: int, key: str = key, definition: dict[str, Any] = definition) -> object:
            return resolve(key, definition, ctxs[i % len(ctxs)], evaluators=evaluators, timestamp=now)

        variants[key] = [resolve(key, definition, c, evaluators=evaluators, timestamp=now).variant for c in ctxs]
        costs[key] = timed(evaluate, iterations, rounds)
    return costs, variants


def flagd_python_costs(iterations: int, rounds: int, ctxs: list[dict[str, Any]]) -> tuple[Costs, Variants]:
    from openfeature.contrib.tools.flagd.core import FlagdCore
    from openfeature.evaluation_context import EvaluationContext

    core = FlagdCore()
    core.set_flags(json.dumps(DOCUMENT))
    contexts_ = [
        EvaluationContext(c["targetingKey"], {k: v for k, v in c.items() if k != "targetingKey"}) for c in ctxs
    ]
    costs: Costs = {}
    variants: Variants = {}
    for key in DOCUMENT["flags"]:

        def evaluate(i: int, key: str = key) -> object:
            return core.resolve_boolean_value(key, False, contexts_[i % len(contexts_)])

        variants[key] = [core.resolve_boolean_value(key, False, c).variant for c in contexts_]
        costs[key] = timed(evaluate, iterations, rounds)
    return costs, variants


def flagd_js_costs(iterations: int, rounds: int, ctxs: list[dict[str, Any]]) -> tuple[Costs, Variants]:
    env = ensure_npm_env("flags-e2e", ROOT / "tests" / "e2e" / "flags_js")
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as handle:
        json.dump({"document": DOCUMENT, "contexts": ctxs, "iterations": iterations, "rounds": rounds}, handle)
    try:
        # The script from this checkout, its packages from the shared npm cache (another checkout may have left
        # its own version of the script there).
        done = subprocess.run(
            ["node", str(ROOT / "tests" / "e2e" / "flags_js" / "bench_flagd_core.cjs"), handle.name],
            cwd=env,
            capture_output=True,
            text=True,
            check=True,
            env={**os.environ, "NODE_PATH": str(env / "node_modules")},
        )
    finally:
        Path(handle.name).unlink()
    output = json.loads(done.stdout)
    return output["costs"], output["variants"]


def bench_evaluators(args: argparse.Namespace) -> None:
    ctxs = contexts(1000)
    ramp, ramp_variants = ramp_costs(args.iterations, args.rounds, ctxs)
    flagd_py, py_variants = flagd_python_costs(args.iterations, args.rounds, ctxs)
    flagd_js, js_variants = flagd_js_costs(args.iterations, args.rounds, ctxs)
    print(
        f"\none evaluation, CPU microseconds (best of {args.rounds} rounds of {args.iterations:,} evaluations "
        f"per flag, 1,000 contexts, in-process: no HTTP):"
    )
    print(
        f"{'flag':<20}{'ramp':>8}{'flagd-core py':>15}{'flagd-core js':>15}{'ramp/py':>9}{'ramp/js':>9}  same variant"
    )
    for key in DOCUMENT["flags"]:
        same_py = sum(r == p for r, p in zip(ramp_variants[key], py_variants[key], strict=True))
        same_js = sum(r == j for r, j in zip(ramp_variants[key], js_variants[key], strict=True))
        print(
            f"{key:<20}{ramp[key]:>8.2f}{flagd_py[key]:>15.2f}{flagd_js[key]:>15.2f}"
            f"{ramp[key] / flagd_py[key]:>9.2f}{ramp[key] / flagd_js[key]:>9.2f}  "
            f"py {same_py}/{len(ctxs)}, js {same_js}/{len(ctxs)}"
        )
    print(
        "ramp/py, ramp/js: Ramp's cost over flagd-core's (below 1: Ramp is cheaper; above 1: it costs that many times "
        "more).\nsame variant: contexts for which flagd-core chose Ramp's variant. flagd's cores bucket `fractional` "
        "differently: flagd-core js hashes the bucketBy string, as Ramp does (docs/flags.md); openfeature-flagd-core "
        "(py) hashes its CBOR encoding, so the same user can land in another bucket there."
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0] if __doc__ else None)
    parser.add_argument("--rate", type=float, default=2000.0, help="offered evaluations/s in the open-loop phase")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds of the open-loop phase")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--cpu", type=int, default=0, help="core to pin the server to (taskset); -1: no pinning")
    parser.add_argument("--iterations", type=int, default=20_000, help="evaluations per flag in the cost comparison")
    parser.add_argument("--rounds", type=int, default=5, help="rounds of --iterations per flag; the best one counts")
    args = parser.parse_args()
    if args.cpu < 0:
        args.cpu = None
    bench_server(args)
    bench_evaluators(args)


if __name__ == "__main__":
    main()
