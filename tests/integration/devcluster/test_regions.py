"""``gramstack dev-cluster up --regions us,eu`` through the real command
line: every server it prints answers as what it claims to be, the regional
clusters are clusters of their own, and ``down`` leaves nothing running."""

from __future__ import annotations

import asyncio
import os
import shlex
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from uuid import uuid4

import asyncpg
import pytest

from gramstack.runtime.devcluster import ClusterState, Node
from gramstack.runtime.devcluster.memcached import running_memcached

REGIONS = ["us", "eu"]
UP_TIMEOUT_S = 180  # a loaded 2-core machine; typically well under a minute


@dataclass
class Started:
    directory: Path
    state: ClusterState
    stdout: str
    exports: dict[str, str]  # the active ``export`` lines
    commented: dict[str, dict[str, str]]  # the other regions' blocks


def _gramstack(*args: str, timeout: float) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gramstack.cli", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def _parse(stdout: str) -> tuple[dict[str, str], dict[str, dict[str, str]]]:
    active: dict[str, str] = {}
    commented: dict[str, dict[str, str]] = {}
    region = ""
    for line in stdout.splitlines():
        if line.startswith("# home region "):
            region = line.removeprefix("# home region ").split()[0].rstrip(":")
            continue
        target = active
        if line.startswith("# export "):
            line, target = line[2:], commented.setdefault(region, {})
        if line.startswith("export "):
            key, _, value = line.removeprefix("export ").partition("=")
            (words,) = [shlex.split(value)]
            assert len(words) == 1, line
            target[key] = words[0]
    return active, commented


def _pairs(value: str) -> dict[str, str]:
    return dict(item.split("=", 1) for item in value.split(","))


@pytest.fixture(scope="module")
def cluster() -> Iterator[Started]:
    # Not pytest's tmp_path: the servers run as the postgres user, and
    # up() hands this directory to it; a subdirectory of a private one won't do.
    directory = Path(tempfile.mkdtemp(prefix="gramstack-test-regions-"))
    started = time.monotonic()
    try:
        result = _gramstack(
            "dev-cluster",
            "up",
            "--regions",
            ",".join(REGIONS),
            "--dir",
            str(directory),
            timeout=UP_TIMEOUT_S,
        )
        assert result.returncode == 0, result.stderr
        assert time.monotonic() - started < UP_TIMEOUT_S
        active, commented = _parse(result.stdout)
        yield Started(directory, ClusterState.load(directory), result.stdout, active, commented)
    finally:
        if (directory / "cluster.json").exists():
            _gramstack("dev-cluster", "down", "--dir", str(directory), timeout=120)
        shutil.rmtree(directory, ignore_errors=True)


def _pid_of(node: Node) -> int:
    return int((Path(node.data) / "postmaster.pid").read_text().split()[0])


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", encoding="utf-8") as stat:
            return stat.read().rpartition(")")[2].split()[0] != "Z"
    except FileNotFoundError:
        return False


async def _system_identifier(dsn: str) -> int:
    conn = await asyncpg.connect(dsn)
    try:
        return int(await conn.fetchval("SELECT system_identifier FROM pg_control_system()"))
    finally:
        await conn.close()


async def _wait_for_row(dsn: str, table: str, marker: str, timeout_s: float = 30) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        assert await conn.fetchval("SELECT pg_is_in_recovery()") is True
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                sql = f"SELECT count(*) FROM {table} WHERE m = $1"
                if await conn.fetchval(sql, marker):
                    return
            except asyncpg.UndefinedTableError:
                pass  # not even the CREATE TABLE replayed yet
            assert time.monotonic() < deadline, f"{dsn} did not replay {marker}"
            await asyncio.sleep(0.05)
    finally:
        await conn.close()


async def _write_marker(dsn: str, table: str) -> str:
    marker = uuid4().hex
    conn = await asyncpg.connect(dsn)
    try:
        assert await conn.fetchval("SELECT pg_is_in_recovery()") is False
        await conn.execute(f"CREATE TABLE IF NOT EXISTS {table} (m TEXT)")
        await conn.execute(f"INSERT INTO {table} VALUES ($1)", marker)
    finally:
        await conn.close()
    return marker


def test_exports_name_every_server(cluster: Started) -> None:
    env, state = cluster.exports, cluster.state
    assert env["GRAMSTACK_REGIONS"] == "us,eu"
    assert env["GRAMSTACK_REGION"] == "us"
    assert env["GRAMSTACK_CACHE_BACKEND"] == "memcached"
    assert env["GRAMSTACK_DATABASE_URL"] == state.leader.dsn()
    for key in (
        "GRAMSTACK_FOLLOWER_URLS",
        "GRAMSTACK_REGIONAL_URLS",
        "GRAMSTACK_REGIONAL_FOLLOWER_URLS",
        "GRAMSTACK_REGION_MEMCACHED",
    ):
        assert list(_pairs(env[key])) == REGIONS, key
    dsns = [
        env["GRAMSTACK_DATABASE_URL"],
        *_pairs(env["GRAMSTACK_FOLLOWER_URLS"]).values(),
        *_pairs(env["GRAMSTACK_REGIONAL_URLS"]).values(),
        *_pairs(env["GRAMSTACK_REGIONAL_FOLLOWER_URLS"]).values(),
    ]
    assert len(set(dsns)) == 1 + 3 * len(REGIONS)  # seven servers, seven addresses
    pools = _pairs(env["GRAMSTACK_REGION_MEMCACHED"])
    assert env["GRAMSTACK_MEMCACHED_SERVERS"] == pools["us"]
    assert pools["us"] != pools["eu"]
    # The other region's block is the API's settings for that region.
    assert {**env, **cluster.commented["eu"]} == state.env_for("eu")
    assert env == state.env_for("us") == state.env
    assert cluster.commented["eu"]["GRAMSTACK_MEMCACHED_SERVERS"] == pools["eu"]
    assert (
        cluster.commented["eu"]["GRAMSTACK_INVALIDATOR_SLOT"] != env["GRAMSTACK_INVALIDATOR_SLOT"]
    )


async def test_leaders_write_and_followers_replay(cluster: Started) -> None:
    env = cluster.exports
    followers = _pairs(env["GRAMSTACK_FOLLOWER_URLS"])
    regional = _pairs(env["GRAMSTACK_REGIONAL_URLS"])
    regional_followers = _pairs(env["GRAMSTACK_REGIONAL_FOLLOWER_URLS"])
    marker = await _write_marker(env["GRAMSTACK_DATABASE_URL"], "devcluster_probe")
    for region in REGIONS:
        await _wait_for_row(followers[region], "devcluster_probe", marker)
        regional_marker = await _write_marker(regional[region], "devcluster_probe")
        await _wait_for_row(regional_followers[region], "devcluster_probe", regional_marker)
        # Each region's follower got only its own leader's write.
        conn = await asyncpg.connect(regional_followers[region])
        try:
            assert (
                await conn.fetchval("SELECT count(*) FROM devcluster_probe WHERE m = $1", marker)
                == 0
            )
        finally:
            await conn.close()


async def test_regional_clusters_are_their_own(cluster: Started) -> None:
    state = cluster.state
    global_id = await _system_identifier(state.superuser_dsn(state.leader))
    regional_ids = set()
    for region in REGIONS:
        assert await _system_identifier(state.superuser_dsn(state.follower(region))) == global_id
        regional = state.regional_cluster(region)
        leader_id = await _system_identifier(state.superuser_dsn(regional.leader))
        assert await _system_identifier(state.superuser_dsn(regional.follower)) == leader_id
        regional_ids.add(leader_id)
    assert global_id not in regional_ids and len(regional_ids) == len(REGIONS)


async def test_regional_schema_and_global_schema(cluster: Started) -> None:
    state = cluster.state
    for region in REGIONS:
        for node in (
            state.regional_cluster(region).leader,
            state.regional_cluster(region).follower,
        ):
            conn = await asyncpg.connect(node.dsn())
            try:
                tables = {
                    row["tablename"]
                    for row in await conn.fetch(
                        "SELECT tablename FROM pg_tables WHERE schemaname = 'public'"
                    )
                }
            finally:
                await conn.close()
            assert {"timeline", "inbox"} <= tables and "follows" not in tables
    conn = await asyncpg.connect(state.database_url)
    try:
        assert await conn.fetchval("SELECT count(*) FROM schema_migrations") >= 5
    finally:
        await conn.close()


def test_each_region_has_a_memcached(cluster: Started) -> None:
    pools = _pairs(cluster.exports["GRAMSTACK_REGION_MEMCACHED"])
    for region in REGIONS:
        (address,) = pools[region].split("|")
        host, _, port = address.partition(":")
        with socket.create_connection((host, int(port)), timeout=2) as sock:
            sock.sendall(b"mn\r\nversion\r\n")
            reply = b""
            while not reply.endswith(b"\r\n") or b"VERSION" not in reply:
                chunk = sock.recv(256)
                assert chunk, reply
                reply += chunk
        assert reply.startswith(b"MN\r\nVERSION 1."), reply


def test_down_stops_every_process(cluster: Started) -> None:
    # Last in this module (pytest keeps file order): it takes the cluster down.
    state = cluster.state
    pids = [_pid_of(node) for node in state.postgres_nodes()]
    memcached = [(m.pid, m.port) for m in state.memcached]
    assert len(pids) == 1 + 3 * len(REGIONS) and len(memcached) == len(REGIONS)
    assert all(map(_alive, pids)) and all(running_memcached(*m) for m in memcached)
    started = time.monotonic()
    result = _gramstack("dev-cluster", "down", "--dir", str(cluster.directory), timeout=120)
    assert result.returncode == 0, result.stderr
    assert time.monotonic() - started < 60
    assert not any(map(_alive, pids)), [p for p in pids if _alive(p)]
    assert not any(_alive(pid) for pid, _ in memcached)
    assert not (cluster.directory / "cluster.json").exists()
    assert not list(cluster.directory.glob("*/postmaster.pid"))
    assert os.path.isdir(state.leader.data)  # data is kept
