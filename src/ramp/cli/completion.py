"""`ramp completion SHELL`: print the shell completion script for bash, zsh or fish.

```
source <(ramp completion bash)                      # this shell
ramp completion bash > /etc/bash_completion.d/ramp  # every new shell
ramp completion fish > ~/.config/fish/completions/ramp.fish
```
The script calls the program back with `_<PROG>_COMPLETE` set (typer's protocol), so completions always match
the installed version's verbs and flags. The program name is the one invoked (`ramp` or `kubectl-ramp`).
`enable_completion()` registers the shells' completion classes; `ramp.cli.main` calls it before every run.
"""

from __future__ import annotations

import enum
import os
import re
import sys
from typing import Annotated

import typer

# typer's own completion protocol (the scripts and the classes that answer them) lives in these modules; typer is
# pinned exactly in pyproject.toml, so a rename shows up in this import when the pin moves.
from typer._completion_classes import completion_init
from typer._completion_shared import get_completion_script


class Shell(enum.StrEnum):
    bash = "bash"
    zsh = "zsh"
    fish = "fish"


def program_name(argv0: str | None = None) -> str:
    """`ramp` or `kubectl-ramp`: the basename the shell runs, which the script completes.

    >>> program_name("/usr/local/bin/kubectl-ramp"), program_name("")
    ('kubectl-ramp', 'ramp')
    """
    name = os.path.basename(sys.argv[0] if argv0 is None else argv0)
    return name if re.fullmatch(r"[A-Za-z0-9_.-]+", name or "") and name != "__main__.py" else "ramp"


def completion_variable(prog: str) -> str:
    """The environment variable the script sets when it asks for completions (`_RAMP_COMPLETE`)."""
    return "_" + re.sub(r"[^A-Za-z0-9]", "_", prog).upper() + "_COMPLETE"


def completion(
    shell: Annotated[Shell, typer.Argument(help="bash, zsh or fish.", show_default=False)],
) -> None:
    """Print the shell completion script (source it, or save it where your shell loads completions)."""
    prog = program_name()
    typer.echo(get_completion_script(prog_name=prog, complete_var=completion_variable(prog), shell=shell.value))


def enable_completion() -> None:
    """Register the bash, zsh and fish completion classes, so `_RAMP_COMPLETE=complete_bash ramp` answers."""
    completion_init()
