"""``gramstack dev-cluster up|down``: real local servers in one directory.

Two shapes:

- ``up(dir, followers=N)``: a PostgreSQL leader and N streaming followers
  (regions local, eu, ap, ...), the database created and migrated. Tests
  start their clusters this way.
- ``up(dir, regions=["us", "eu", "ap"])``: the scaled multi-region topology
  (DESIGN.md, "Regions on one machine"): the global leader with one follower
  per region, and per region its own regional PostgreSQL cluster (leader +
  streaming follower, separate from the global one, holding the regional
  store's schema) and its own memcached.

Either way ``cluster.json`` records every server (ports, data directories,
memcached pids) and the ``GRAMSTACK_*`` settings that point a server at
them (``env``; per home region ``env_by_region``); ``down`` reads it and
stops everything. The PostgreSQL servers of one stage are started side by
side, since most of their start-up is waiting, not computing.
"""

from __future__ import annotations

import asyncio
import json
import logging
import shlex
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

from gramstack.runtime.devcluster import memcached as mc
from gramstack.runtime.devcluster import postgres as pg

log = logging.getLogger("gramstack.devcluster")

STATE_FILE = "cluster.json"
DATABASE = "gramstack"
APP_ROLE = "gramstack"
REGIONS = ("local", "eu", "ap", "us", "sa", "af")
INVALIDATOR_SLOT = "gramstack_invalidator"
INVALIDATOR_METRICS_PORT = 9187
# Enough threads for every server of a stage: they mostly wait on pg_ctl.
_PARALLEL = 8


@dataclass
class Node:
    name: str  # "leader", the follower's region, or "<region>-leader|follower"
    port: int
    data: str

    def dsn(self, user: str = APP_ROLE) -> str:
        return f"postgresql://{user}@127.0.0.1:{self.port}/{DATABASE}"


@dataclass
class RegionalCluster:
    """One region's own PostgreSQL cluster for its regional store."""

    region: str
    leader: Node
    follower: Node


@dataclass
class MemcachedNode:
    region: str
    port: int
    pid: int

    @property
    def address(self) -> str:
        return f"{mc.HOST}:{self.port}"


@dataclass
class ClusterState:
    directory: str
    bindir: str
    user: str | None
    leader: Node
    followers: list[Node] = field(default_factory=list)
    regions: list[str] = field(default_factory=list)  # empty: the --followers shape
    regional: list[RegionalCluster] = field(default_factory=list)
    memcached: list[MemcachedNode] = field(default_factory=list)

    @property
    def database_url(self) -> str:
        return self.leader.dsn()

    @property
    def follower_urls(self) -> str:
        return ",".join(f"{f.name}={f.dsn()}" for f in self.followers)

    @property
    def regional_urls(self) -> str:
        return ",".join(f"{c.region}={c.leader.dsn()}" for c in self.regional)

    @property
    def regional_follower_urls(self) -> str:
        return ",".join(f"{c.region}={c.follower.dsn()}" for c in self.regional)

    def memcached_pool(self, region: str) -> str:
        """``region``'s memcached servers, in ``memcached_servers`` form."""
        return ",".join(m.address for m in self.memcached if m.region == region)

    @property
    def region_memcached(self) -> str:
        # Servers of one pool are joined by "|": "," already separates regions.
        return ",".join(
            f"{region}={self.memcached_pool(region).replace(',', '|')}" for region in self.regions
        )

    @property
    def shared_env(self) -> dict[str, str]:
        """Settings every process of the cluster takes, whatever its region."""
        env = {
            "GRAMSTACK_DATABASE_URL": self.database_url,
            "GRAMSTACK_FOLLOWER_URLS": self.follower_urls,
        }
        if self.regions:
            env = {
                "GRAMSTACK_REGIONS": ",".join(self.regions),
                **env,
                "GRAMSTACK_REGIONAL_URLS": self.regional_urls,
                "GRAMSTACK_REGIONAL_FOLLOWER_URLS": self.regional_follower_urls,
                "GRAMSTACK_REGION_MEMCACHED": self.region_memcached,
                "GRAMSTACK_CACHE_BACKEND": "memcached",
            }
        return env

    def env_for(self, region: str) -> dict[str, str]:
        """Everything a server, worker or invalidator whose home is ``region``
        needs: the shared settings, its region, its region's cache pool and,
        for the invalidator, a slot and metrics port of its own."""
        if region not in self.regions:
            raise KeyError(f"no region {region!r} in this cluster ({','.join(self.regions)})")
        index = self.regions.index(region)
        return {
            **self.shared_env,
            "GRAMSTACK_REGION": region,
            "GRAMSTACK_MEMCACHED_SERVERS": self.memcached_pool(region),
            "GRAMSTACK_INVALIDATOR_SLOT": f"{INVALIDATOR_SLOT}_{region}",
            "GRAMSTACK_INVALIDATOR_METRICS_PORT": str(INVALIDATOR_METRICS_PORT + index),
        }

    @property
    def env(self) -> dict[str, str]:
        """The settings for a process in the first region (the only shape
        of the ``--followers`` cluster)."""
        return self.env_for(self.regions[0]) if self.regions else self.shared_env

    def superuser_dsn(self, node: Node) -> str:
        """For operators and tests: pausing replay needs a superuser."""
        return node.dsn(pg.SUPERUSER)

    def follower(self, region: str) -> Node:
        return next(f for f in self.followers if f.name == region)

    def regional_cluster(self, region: str) -> RegionalCluster:
        return next(c for c in self.regional if c.region == region)

    def postgres_nodes(self) -> list[Node]:
        regional = [n for c in self.regional for n in (c.leader, c.follower)]
        return [self.leader, *self.followers, *regional]

    def save(self) -> None:
        document: dict[str, Any] = {**asdict(self), "env": self.env}
        if self.regions:
            document["env_by_region"] = {r: self.env_for(r) for r in self.regions}
        path = Path(self.directory) / STATE_FILE
        path.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")

    @classmethod
    def load(cls, directory: Path) -> ClusterState:
        document: dict[str, Any] = json.loads((directory / STATE_FILE).read_text("utf-8"))
        return cls(
            directory=document["directory"],
            bindir=document["bindir"],
            user=document["user"],
            leader=Node(**document["leader"]),
            followers=[Node(**f) for f in document["followers"]],
            regions=list(document.get("regions", [])),
            regional=[
                RegionalCluster(c["region"], Node(**c["leader"]), Node(**c["follower"]))
                for c in document.get("regional", [])
            ],
            memcached=[MemcachedNode(**m) for m in document.get("memcached", [])],
        )


def region_names(count: int) -> list[str]:
    return [REGIONS[i] if i < len(REGIONS) else f"r{i}" for i in range(count)]


def parse_regions(text: str) -> list[str]:
    """``"us,eu,ap"`` as a list; names must be simple and distinct."""
    regions = [name.strip() for name in text.split(",") if name.strip()]
    if not regions:
        raise pg.DevClusterError("--regions needs at least one region name")
    for name in regions:
        if not name.isidentifier() or not name.isascii():
            raise pg.DevClusterError(f"region name {name!r} must be a simple name like eu")
    if len(set(regions)) != len(regions):
        raise pg.DevClusterError(f"region names repeat in {text!r}")
    return regions


# Memcached processes started by this Python process, so that ``down`` in
# the same process (the tests) reaps them instead of leaving zombies.
_OWN_MEMCACHED: dict[int, mc.MemcachedProcess] = {}


def up(
    directory: Path, followers: int = 1, *, regions: Sequence[str] | None = None
) -> ClusterState:
    """Start a leader and ``followers`` followers (regions local, eu, ap, ...),
    or, given ``regions``, the whole multi-region topology."""
    directory = directory.resolve()
    if (directory / STATE_FILE).exists():
        raise pg.DevClusterError(f"{directory} already holds a cluster; run down first")
    bindir = pg.find_bindir()
    user = pg.service_user()
    directory.mkdir(parents=True, exist_ok=True)
    pg.give_to(directory, user)
    leader = Node("leader", pg.free_port(), str(directory / "leader"))
    state = ClusterState(str(directory), str(bindir), user, leader)
    try:
        if regions:
            _up_regions(state, list(regions))
        else:
            _up_followers(state, followers)
    except BaseException:
        down(directory)
        raise
    return state


def _up_followers(state: ClusterState, followers: int) -> None:
    _start_leaders(state, [state.leader])
    asyncio.run(_create_global_database(state))
    nodes = [
        Node(region, pg.free_port(), str(Path(state.directory) / f"follower-{region}"))
        for region in region_names(followers)
    ]
    _start_followers(state, [(state.leader, node) for node in nodes])
    state.followers.extend(nodes)
    state.save()
    asyncio.run(_wait_for_replay([(state.leader, node) for node in state.followers]))


def _up_regions(state: ClusterState, regions: list[str]) -> None:
    directory = Path(state.directory)
    state.regions = regions

    def node(name: str) -> Node:
        return Node(name, pg.free_port(), str(directory / name))

    regional = [
        RegionalCluster(r, node(f"regional-{r}-leader"), node(f"regional-{r}-follower"))
        for r in regions
    ]
    began = time.monotonic()
    _start_leaders(state, [state.leader, *(c.leader for c in regional)])
    state.regional = regional  # saved once the followers run too
    state.save()
    log.info("%d leaders started in %.1f s", 1 + len(regional), time.monotonic() - began)
    asyncio.run(_create_databases(state))
    log.info("databases created at %.1f s", time.monotonic() - began)
    global_followers = [Node(r, pg.free_port(), str(directory / f"follower-{r}")) for r in regions]
    pairs = [
        *((state.leader, follower) for follower in global_followers),
        *((c.leader, c.follower) for c in regional),
    ]
    _start_followers(state, pairs)
    state.followers = global_followers
    state.save()
    log.info("%d followers started at %.1f s", len(pairs), time.monotonic() - began)
    for region in regions:
        server = mc.start_memcached(detach=True)
        _OWN_MEMCACHED[server.pid] = server
        state.memcached.append(MemcachedNode(region, server.port, server.pid))
        state.save()
    asyncio.run(_wait_for_replay(pairs))
    log.info("regions %s up in %.1f s", ",".join(regions), time.monotonic() - began)


def _side_by_side(tasks: Sequence[Callable[[], None]]) -> None:
    """Run ``tasks`` in threads; wait for all, then raise the first failure."""
    with ThreadPoolExecutor(max_workers=min(_PARALLEL, max(1, len(tasks)))) as pool:
        futures = [pool.submit(task) for task in tasks]
    for future in futures:
        future.result()


def _start_leaders(state: ClusterState, leaders: Sequence[Node]) -> None:
    bindir, directory, user = Path(state.bindir), Path(state.directory), state.user

    def start(node: Node) -> None:
        pg.init_leader(bindir, Path(node.data), node.port, directory, user)
        pg.start(bindir, Path(node.data), directory / f"{node.name}.log", user)

    _side_by_side([partial(start, node) for node in leaders])
    state.save()  # from here on, down() can clean up


def _start_followers(state: ClusterState, pairs: Sequence[tuple[Node, Node]]) -> None:
    bindir, directory, user = Path(state.bindir), Path(state.directory), state.user

    def start(leader: Node, follower: Node) -> None:
        slot = f"follower_{follower.name}".replace("-", "_")
        pg.clone_follower(bindir, leader.port, Path(follower.data), follower.port, slot, user)
        pg.start(bindir, Path(follower.data), directory / f"{Path(follower.data).name}.log", user)

    _side_by_side([partial(start, leader, follower) for leader, follower in pairs])


def down(directory: Path) -> None:
    """Stop every server of the cluster in ``directory`` (data is kept)."""
    directory = directory.resolve()
    bindir = pg.find_bindir()
    user = pg.service_user()
    if (directory / STATE_FILE).exists():
        for node in ClusterState.load(directory).memcached:
            own = _OWN_MEMCACHED.pop(node.pid, None)
            if own is not None:
                mc.stop_memcached(own)
            else:
                mc.stop_memcached_pid(node.pid, node.port)
    # Every data directory with a running server, whatever the state file
    # got to record before a failed start; followers first, so they do not
    # spend the shutdown retrying their vanished leader.
    running = sorted(p.parent for p in directory.glob("*/postmaster.pid"))
    for group in (
        [d for d in running if "follower" in d.name],
        [d for d in running if "follower" not in d.name],
    ):
        _side_by_side([partial(pg.stop, bindir, data, user) for data in group])
    (directory / STATE_FILE).unlink(missing_ok=True)


def export_lines(state: ClusterState) -> list[str]:
    """Shell lines that set up a process of the cluster (first region's)."""
    if not state.regions:
        return [_export(key, value) for key, value in state.env.items()]
    shared = state.shared_env
    lines = ["# shared by every server, worker and invalidator:"]
    lines += [_export(key, value) for key, value in shared.items()]
    for index, region in enumerate(state.regions):
        own = {k: v for k, v in state.env_for(region).items() if k not in shared}
        if index == 0:
            lines.append(f"# home region {region} (a process in another region takes its block):")
            lines += [_export(key, value) for key, value in own.items()]
        else:
            lines.append(f"# home region {region}:")
            lines += ["# " + _export(key, value) for key, value in own.items()]
    return lines


def _export(key: str, value: str) -> str:
    return f"export {key}={shlex.quote(value)}"


async def _create_role_and_database(node: Node) -> None:
    import asyncpg

    admin = await asyncpg.connect(f"postgresql://{pg.SUPERUSER}@127.0.0.1:{node.port}/postgres")
    try:
        # REPLICATION lets the invalidation service open its logical slot
        # with the same credentials; a production deployment would give the
        # invalidator a role of its own.
        await admin.execute(f"CREATE ROLE {APP_ROLE} LOGIN REPLICATION")
        await admin.execute(f"CREATE DATABASE {DATABASE} OWNER {APP_ROLE}")
    finally:
        await admin.close()


async def _create_global_database(state: ClusterState) -> None:
    from gramstack.storage.postgres import PostgresDatabase
    from gramstack.storage.schema import migrate

    await _create_role_and_database(state.leader)
    db = PostgresDatabase(state.database_url, min_size=1, max_size=1)
    await db.open()
    try:
        await migrate(db)
    finally:
        await db.close()


async def _create_regional_database(cluster: RegionalCluster) -> None:
    from gramstack.regional.sql import SqlRegionalStore
    from gramstack.storage.postgres import PostgresDatabase

    await _create_role_and_database(cluster.leader)
    db = PostgresDatabase(cluster.leader.dsn(), min_size=1, max_size=1)
    await db.open()
    store = SqlRegionalStore(cluster.region, db)
    try:
        await store.create_schema()
    finally:
        await store.close()


async def _create_databases(state: ClusterState) -> None:
    await asyncio.gather(
        _create_global_database(state), *map(_create_regional_database, state.regional)
    )


async def _wait_for_replay(pairs: Sequence[tuple[Node, Node]], timeout_s: float = 60) -> None:
    """Until every follower has replayed what its leader had when we asked."""
    deadline = time.monotonic() + timeout_s
    await asyncio.gather(*(_wait_for_one(leader, node, deadline) for leader, node in pairs))


async def _wait_for_one(leader_node: Node, node: Node, deadline: float) -> None:
    from gramstack.storage.postgres import PostgresDatabase

    leader = PostgresDatabase(leader_node.dsn(), min_size=1, max_size=1)
    await leader.open()
    try:
        target = await leader.flush_lsn()
    finally:
        await leader.close()
    follower = PostgresDatabase(node.dsn(), min_size=0, max_size=1)
    await follower.open()
    try:
        while (await follower.replay_lsn() or 0) < target:
            if time.monotonic() > deadline:
                raise pg.DevClusterError(f"follower {node.name} did not catch up")
            await asyncio.sleep(0.05)
    finally:
        await follower.close()
