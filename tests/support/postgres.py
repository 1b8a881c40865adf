"""Throwaway PostgreSQL clusters for tests, started with the dev-cluster code."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from gramstack.runtime import devcluster
from gramstack.runtime.devcluster import ClusterState


def start_cluster(followers: int = 1) -> ClusterState:
    # Not pytest's tmp_path: its parents are private to root, and the
    # servers run as the postgres user, which must reach the directory.
    directory = Path(tempfile.mkdtemp(prefix="gramstack-test-pg-"))
    try:
        return devcluster.up(directory, followers=followers)
    except BaseException:
        shutil.rmtree(directory, ignore_errors=True)
        raise


def stop_cluster(state: ClusterState) -> None:
    devcluster.down(Path(state.directory))
    shutil.rmtree(state.directory, ignore_errors=True)
