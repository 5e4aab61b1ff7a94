"""Clear errors before any build or start: Go missing or too old, the apiserver port taken."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from ramp.localcluster.build import BuildError, check_go
from ramp.localcluster.cluster import ClusterError, LocalCluster, is_port_free
from ramp.localcluster.paths import CachePaths


def test_missing_go_says_what_to_install(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(BuildError, match=r"Go is not installed .*install Go 1\.26 or newer"):
        check_go()


def test_old_go_is_named_with_the_version_needed(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    # An old Go on PATH: a script answering `go env GOVERSION` as Go 1.22 would.
    old_go = tmp_path / "go"
    old_go.write_text("#!/bin/sh\necho go1.22.5\n")
    old_go.chmod(0o755)
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(BuildError, match=r"reports go1\.22\.5; Kubernetes v1\.36\.3 needs Go 1\.26 or newer"):
        check_go()


def test_taken_port_is_refused_before_anything_starts(tmp_path: Path) -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        assert not is_port_free(port)
        cluster = LocalCluster(CachePaths(tmp_path), name="unit")
        with pytest.raises(ClusterError, match=rf"port {port} on 127\.0\.0\.1 is taken .* --port N"):
            cluster._create(port)
    assert not (tmp_path / "kwok").exists()


def test_cache_root_follows_ramp_cache(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from ramp.localcluster.paths import cache_paths

    monkeypatch.setenv("RAMP_CACHE", str(tmp_path / "c"))
    assert cache_paths().bin == tmp_path / "c" / "bin"


def test_pid_files_naming_unrelated_processes_are_forgotten(tmp_path: Path) -> None:
    # After a machine restart, a component's old pid may belong to another process: never signal it.
    import os

    cluster = LocalCluster(CachePaths(tmp_path), name="unit")
    pids = cluster.directory / "pids"
    pids.mkdir(parents=True)
    (pids / "kube-apiserver.pid").write_text(str(os.getpid()))  # alive, but this test process
    (pids / "etcd.pid").write_text("999999999")  # no such process
    (pids / "kwok-controller.pid").write_text("garbage")
    cluster._forget_stale_pids()
    assert list(pids.iterdir()) == []
