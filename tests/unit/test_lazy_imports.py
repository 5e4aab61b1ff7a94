"""The controller does not load numpy and scipy until a judge analysis needs them (together ~85 MiB of resident
memory, more than everything else the controller holds for thousands of Rollouts), nor botocore until an AWS metric
needs credentials (~23 MiB); docs/performance.md."""

from __future__ import annotations

import subprocess
import sys


def test_starting_ramp_loads_neither_numpy_nor_scipy() -> None:
    probe = "import sys, ramp.cli.main, ramp.manager.runtime; print(sorted({'numpy', 'scipy'} & set(sys.modules)))"
    loaded = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout.strip()
    assert loaded == "[]"


def test_starting_the_controller_with_its_providers_loads_no_botocore() -> None:
    probe = (
        "import sys, ramp.cli.main, ramp.manager.runtime, ramp.manager.wiring, ramp.providers.cloudwatch, "
        "ramp.providers.prometheus; print(sorted({'botocore', 'boto3'} & set(sys.modules)))"
    )
    loaded = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout.strip()
    assert loaded == "[]"
