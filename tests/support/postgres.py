"""Throwaway PostgreSQL clusters for tests, started with the dev-cluster code."""

from __future__ import annotations

import asyncio
import re
import shutil
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import asyncpg

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


@contextmanager
def own_database_env(cluster: ClusterState, prefix: str) -> Iterator[dict[str, str]]:
    """The cluster's server settings on a database of their own, created on
    the leader (and so on its followers) and dropped afterwards.

    A server on the session's shared database shares its job queue with
    every other server on it: a job this server enqueued may be run by
    another, whose regional store is not this one's."""
    name = f"{prefix}_{uuid.uuid4().hex[:8]}"
    _admin(cluster, f"CREATE DATABASE {name} OWNER {devcluster.APP_ROLE}")
    env = {key: _on_database(value, name) for key, value in cluster.env.items()}
    try:
        _wait_until_followers_have(cluster, name)
        yield env
    finally:
        _admin(cluster, f"DROP DATABASE {name} WITH (FORCE)")


def _on_database(urls: str, name: str) -> str:
    """Each DSN in ``urls`` (one, or ``region=dsn`` pairs) on database ``name``."""
    return re.sub(rf"/{devcluster.DATABASE}(?=,|$)", f"/{name}", urls)


def _admin(cluster: ClusterState, sql: str) -> None:
    async def run() -> None:
        conn = await asyncpg.connect(cluster.superuser_dsn(cluster.leader))
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(run())


def _wait_until_followers_have(cluster: ClusterState, name: str, timeout_s: float = 30) -> None:
    """Followers replay the CREATE DATABASE a moment after the leader."""

    async def reachable(dsn: str) -> bool:
        try:
            conn = await asyncpg.connect(dsn)
        except (OSError, asyncpg.PostgresError):
            return False
        await conn.close()
        return True

    deadline = time.monotonic() + timeout_s
    for follower in cluster.followers:
        dsn = _on_database(follower.dsn(), name)
        while not asyncio.run(reachable(dsn)):
            if time.monotonic() > deadline:
                raise TimeoutError(f"follower {follower.name} has no database {name}")
            time.sleep(0.05)
