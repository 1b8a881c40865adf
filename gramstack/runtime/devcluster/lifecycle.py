"""``up`` and ``down``: the servers of a dev cluster started in order
(leaders, databases, followers, memcached), side by side within a stage,
and stopped again from the state file."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from pathlib import Path

from gramstack.runtime.devcluster import memcached as mc
from gramstack.runtime.devcluster import postgres as pg
from gramstack.runtime.devcluster.databases import (
    create_databases,
    create_global_database,
    wait_for_replay,
)
from gramstack.runtime.devcluster.regions import region_names
from gramstack.runtime.devcluster.state import (
    STATE_FILE,
    ClusterState,
    MemcachedNode,
    Node,
    RegionalCluster,
)

log = logging.getLogger("gramstack.devcluster")

# Enough threads for every server of a stage: they mostly wait on pg_ctl.
_PARALLEL = 8


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
    asyncio.run(create_global_database(state))
    nodes = [
        Node(region, pg.free_port(), str(Path(state.directory) / f"follower-{region}"))
        for region in region_names(followers)
    ]
    _start_followers(state, [(state.leader, node) for node in nodes])
    state.followers.extend(nodes)
    state.save()
    asyncio.run(wait_for_replay([(state.leader, node) for node in state.followers]))


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
    asyncio.run(create_databases(state))
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
    asyncio.run(wait_for_replay(pairs))
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
