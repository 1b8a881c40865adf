"""The databases inside a dev cluster's PostgreSQL servers: the app role,
the global database (migrated) and each region's (its regional schema),
and the wait until followers have replayed them."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence

from gramstack.runtime.devcluster import postgres as pg
from gramstack.runtime.devcluster.state import (
    APP_ROLE,
    DATABASE,
    ClusterState,
    Node,
    RegionalCluster,
)


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


async def create_global_database(state: ClusterState) -> None:
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


async def create_databases(state: ClusterState) -> None:
    await asyncio.gather(
        create_global_database(state), *map(_create_regional_database, state.regional)
    )


async def wait_for_replay(pairs: Sequence[tuple[Node, Node]], timeout_s: float = 60) -> None:
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
