"""FileFlagStore: reads a flagd file, follows its changes, keeps the last good set when the file turns bad."""

from __future__ import annotations

import asyncio
import json
import logging
from pathlib import Path

import pytest

from ramp.flags.store import FileFlagStore, FlagFileError


def write(path: Path, weight: int) -> None:
    flag = {
        "state": "ENABLED",
        "variants": {"new": True, "old": False},
        "defaultVariant": "old",
        "targeting": {"fractional": [["new", weight], ["old", 100 - weight]]},
    }
    path.write_text(json.dumps({"flags": {"f": flag}}))


def test_a_bad_file_at_start_is_a_named_error(tmp_path: Path) -> None:
    (tmp_path / "flags.json").write_text("{nope")
    with pytest.raises(FlagFileError, match=r"flags\.json.*not JSON"):
        FileFlagStore(tmp_path / "flags.json")
    with pytest.raises(FlagFileError, match="cannot read"):
        FileFlagStore(tmp_path / "absent.json")


async def test_changed_returns_when_the_file_changes(tmp_path: Path) -> None:
    path = tmp_path / "flags.json"
    write(path, 10)
    store = FileFlagStore(path, poll_interval=0.01)
    first = store.snapshot()
    waiter = asyncio.create_task(store.changed())
    await asyncio.sleep(0.05)
    assert not waiter.done()
    write(path, 50)
    await asyncio.wait_for(waiter, 5)
    assert store.snapshot().version != first.version
    assert store.snapshot().flags["f"]["targeting"] == {"fractional": [["new", 50], ["old", 50]]}


def test_a_bad_rewrite_keeps_the_last_good_set(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "flags.json"
    write(path, 10)
    store = FileFlagStore(path)
    good = store.snapshot()
    path.write_text('{"flags": {"f": {"state": "MAYBE"}}}')
    with caplog.at_level(logging.ERROR):
        assert store.reload_if_changed() is False
    assert store.snapshot() is good
    assert "FlagFileInvalid" in caplog.text and "flags.f.state" in caplog.text
    write(path, 20)
    assert store.reload_if_changed() is True
