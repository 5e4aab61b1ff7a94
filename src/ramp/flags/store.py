"""Where flag definitions come from: a FlagSet snapshot and a way to wait for the next one.

`FileFlagStore` reads a flagd-format JSON file (local mode); the cluster store (FeatureFlag resources) lives in
`ramp.flags.cluster_store` and honours the same protocol.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from ramp.flags.definitions import FlagDefinitionError, parse_document

log = logging.getLogger("ramp.flags.store")


@dataclass(frozen=True)
class FlagSet:
    """flagd-format flag definitions keyed by flag key, with flagd's `$evaluators`, at one version."""

    version: str
    flags: Mapping[str, Mapping[str, Any]]
    evaluators: Mapping[str, Any] = field(default_factory=dict)


class FlagStore(Protocol):
    """A source of flag sets."""

    def snapshot(self) -> FlagSet:
        """The current flags; cheap (no I/O). The same object until the set changes: the OFREP server keeps
        what it works out per set (ramp.flags.ofrep.CompiledFlagSet) for as long as it gets that object back."""
        ...

    async def changed(self) -> None:
        """Return once the set has changed since this call began (then call snapshot())."""
        ...


class FlagFileError(Exception):
    """The flag file cannot be read or is not a valid flagd-format document."""


def load_file(path: Path) -> FlagSet:
    """Read and check a flag file; raises FlagFileError naming the file and the field."""
    try:
        raw = path.read_bytes()
    except OSError as error:
        raise FlagFileError(f"cannot read flag file {path}: {error.strerror or error}") from None
    try:
        flags, evaluators = parse_document(raw)
    except FlagDefinitionError as error:
        raise FlagFileError(f"flag file {path}: {error}") from None
    return FlagSet(version=hashlib.sha256(raw).hexdigest()[:16], flags=flags, evaluators=evaluators)


class FileFlagStore:
    """A flagd-format JSON file, re-read when it changes; a bad file keeps the last good set (and is logged)."""

    def __init__(self, path: Path, *, poll_interval: float = 0.2) -> None:
        self.path = path
        self.poll_interval = poll_interval
        self._set = load_file(path)
        self._stat = self._stat_key()
        self._bad_stat: tuple[int, int, int] | None = None

    def snapshot(self) -> FlagSet:
        return self._set

    async def changed(self) -> None:
        start = self._set.version
        while True:
            await asyncio.sleep(self.poll_interval)
            self.reload_if_changed()
            if self._set.version != start:
                return

    def reload_if_changed(self) -> bool:
        """Re-read the file when its size, mtime or inode moved; True when the set changed."""
        stat = self._stat_key()
        if stat in (self._stat, self._bad_stat):
            return False
        try:
            fresh = load_file(self.path)
        except FlagFileError as error:
            self._bad_stat = stat
            log.error("FlagFileInvalid: %s; still serving version %s", error, self._set.version)
            return False
        self._stat, self._bad_stat = stat, None
        if fresh.version == self._set.version:
            return False
        self._set = fresh
        log.info("flag file %s reloaded: version %s, %d flags", self.path, fresh.version, len(fresh.flags))
        return True

    def _stat_key(self) -> tuple[int, int, int]:
        try:
            st = os.stat(self.path)
        except OSError:
            return (0, 0, 0)
        return (st.st_mtime_ns, st.st_size, st.st_ino)
