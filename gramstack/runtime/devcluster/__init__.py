"""``gramstack dev-cluster up|down``: real local servers in one directory.

``up`` starts a PostgreSQL leader and followers (``postgres.py``), creates
the database, applies the migrations and writes ``cluster.json``, whose
``env`` holds the ``GRAMSTACK_*`` settings that point a server at them;
``down`` reads that file and stops everything it names. Tests start their
clusters with the same two functions.
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from gramstack.runtime.devcluster import postgres as pg

STATE_FILE = "cluster.json"
DATABASE = "gramstack"
APP_ROLE = "gramstack"
REGIONS = ("local", "eu", "ap", "us", "sa", "af")


@dataclass
class Node:
    name: str  # "leader" or the follower's region
    port: int
    data: str

    def dsn(self, user: str = APP_ROLE) -> str:
        return f"postgresql://{user}@127.0.0.1:{self.port}/{DATABASE}"


@dataclass
class ClusterState:
    directory: str
    bindir: str
    user: str | None
    leader: Node
    followers: list[Node] = field(default_factory=list)

    @property
    def database_url(self) -> str:
        return self.leader.dsn()

    @property
    def follower_urls(self) -> str:
        return ",".join(f"{f.name}={f.dsn()}" for f in self.followers)

    @property
    def env(self) -> dict[str, str]:
        return {
            "GRAMSTACK_DATABASE_URL": self.database_url,
            "GRAMSTACK_FOLLOWER_URLS": self.follower_urls,
        }

    def superuser_dsn(self, node: Node) -> str:
        """For operators and tests: pausing replay needs a superuser."""
        return node.dsn(pg.SUPERUSER)

    def follower(self, region: str) -> Node:
        return next(f for f in self.followers if f.name == region)

    def save(self) -> None:
        document = {**asdict(self), "env": self.env}
        path = Path(self.directory) / STATE_FILE
        path.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")

    @classmethod
    def load(cls, directory: Path) -> ClusterState:
        document: dict[str, Any] = json.loads((directory / STATE_FILE).read_text("utf-8"))
        document.pop("env", None)
        return cls(
            directory=document["directory"],
            bindir=document["bindir"],
            user=document["user"],
            leader=Node(**document["leader"]),
            followers=[Node(**f) for f in document["followers"]],
        )


def region_names(count: int) -> list[str]:
    return [REGIONS[i] if i < len(REGIONS) else f"r{i}" for i in range(count)]


def up(directory: Path, followers: int = 1) -> ClusterState:
    """Start a leader and ``followers`` followers (regions local, eu, ap, ...)."""
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
        pg.init_leader(bindir, Path(leader.data), leader.port, directory, user)
        pg.start(bindir, Path(leader.data), directory / "leader.log", user)
        state.save()  # from here on, down() can clean up
        asyncio.run(_create_database(state))
        for region in region_names(followers):
            node = Node(region, pg.free_port(), str(directory / f"follower-{region}"))
            pg.clone_follower(
                bindir, leader.port, Path(node.data), node.port, f"follower_{region}", user
            )
            pg.start(bindir, Path(node.data), directory / f"follower-{region}.log", user)
            state.followers.append(node)
            state.save()
        asyncio.run(_wait_for_replay(state))
    except BaseException:
        down(directory)
        raise
    return state


def down(directory: Path) -> None:
    """Stop every server of the cluster in ``directory`` (data is kept)."""
    directory = directory.resolve()
    bindir = pg.find_bindir()
    user = pg.service_user()
    nodes = [Path(p) for p in sorted(map(str, directory.glob("follower-*"))) if Path(p).is_dir()]
    for data in [*nodes, directory / "leader"]:
        pg.stop(bindir, data, user)
    (directory / STATE_FILE).unlink(missing_ok=True)


def export_lines(state: ClusterState) -> list[str]:
    return [f"export {key}={value}" for key, value in state.env.items()]


async def _create_database(state: ClusterState) -> None:
    import asyncpg

    from gramstack.storage.postgres import PostgresDatabase
    from gramstack.storage.schema import migrate

    admin = await asyncpg.connect(
        f"postgresql://{pg.SUPERUSER}@127.0.0.1:{state.leader.port}/postgres"
    )
    try:
        # REPLICATION lets the invalidation service open its logical slot
        # with the same credentials; a production deployment would give the
        # invalidator a role of its own.
        await admin.execute(f"CREATE ROLE {APP_ROLE} LOGIN REPLICATION")
        await admin.execute(f"CREATE DATABASE {DATABASE} OWNER {APP_ROLE}")
    finally:
        await admin.close()
    db = PostgresDatabase(state.database_url, min_size=1, max_size=1)
    await db.open()
    try:
        await migrate(db)
    finally:
        await db.close()


async def _wait_for_replay(state: ClusterState, timeout_s: float = 60) -> None:
    """Until every follower has replayed what the leader had when we asked."""
    from gramstack.storage.postgres import PostgresDatabase

    leader = PostgresDatabase(state.database_url, min_size=1, max_size=1)
    await leader.open()
    try:
        target = await leader.flush_lsn()
    finally:
        await leader.close()
    deadline = time.monotonic() + timeout_s
    for node in state.followers:
        follower = PostgresDatabase(node.dsn(), min_size=0, max_size=1)
        await follower.open()
        try:
            while (await follower.replay_lsn() or 0) < target:
                if time.monotonic() > deadline:
                    raise pg.DevClusterError(f"follower {node.name} did not catch up")
                await asyncio.sleep(0.05)
        finally:
            await follower.close()
