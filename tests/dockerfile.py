"""The repository's Dockerfile read as its stages and instructions, for the tests that hold it to its word:
tests/unit/test_dockerfile.py (stages, user, entrypoint) and tests/e2e/test_package.py (which runs the
controller from a virtualenv exactly as the image's ENTRYPOINT, CMD and ENV do)."""

from __future__ import annotations

import json
import shlex
from dataclasses import dataclass, field
from pathlib import Path

DOCKERFILE = Path(__file__).resolve().parents[1] / "Dockerfile"


@dataclass
class Stage:
    base: str
    name: str
    instructions: list[tuple[str, str]] = field(default_factory=list)

    def all(self, instruction: str) -> list[str]:
        return [rest for name, rest in self.instructions if name == instruction]

    def last(self, instruction: str) -> str | None:
        found = self.all(instruction)
        return found[-1] if found else None

    def exec_form(self, instruction: str) -> list[str]:
        """ENTRYPOINT or CMD in JSON (exec) form: the form that needs no shell."""
        rest = self.last(instruction)
        assert rest is not None, f"{instruction} missing in stage {self.name}"
        value = json.loads(rest)
        assert isinstance(value, list) and all(isinstance(v, str) for v in value), f"{instruction} {rest}"
        return value

    def env(self) -> dict[str, str]:
        """The stage's ENV, `KEY=value` pairs (quoted values unquoted)."""
        variables: dict[str, str] = {}
        for rest in self.all("ENV"):
            for pair in shlex.split(rest):
                key, sep, value = pair.partition("=")
                assert sep, f"ENV {rest}: use the KEY=value form"
                variables[key] = value
        return variables


def read_stages(path: Path = DOCKERFILE) -> list[Stage]:
    """The Dockerfile's stages in order, each with its instructions (continuation lines joined)."""
    logical: list[str] = []
    pending = ""
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if line.startswith("#"):
            continue  # a comment inside a continued instruction
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        logical.append(pending + line)
        pending = ""
    stages: list[Stage] = []
    for line in logical:
        instruction, _, rest = line.partition(" ")
        instruction, rest = instruction.upper(), rest.strip()
        if instruction == "FROM":
            words = rest.split()
            name = words[2] if len(words) == 3 and words[1].upper() == "AS" else str(len(stages))
            stages.append(Stage(words[0], name))
        elif instruction != "ARG" or stages:
            stages[-1].instructions.append((instruction, rest))
    return stages
