"""The controller does not load numpy and scipy until a judge analysis needs them: together they are ~85 MiB
of resident memory (docs/performance.md), more than everything else the controller holds for thousands of
Rollouts."""

from __future__ import annotations

import subprocess
import sys


def test_starting_ramp_loads_neither_numpy_nor_scipy() -> None:
    probe = "import sys, ramp.cli.main, ramp.manager.runtime; print(sorted({'numpy', 'scipy'} & set(sys.modules)))"
    loaded = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout.strip()
    assert loaded == "[]"
