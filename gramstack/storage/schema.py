"""Versioned schema migrations, shared by SQLite and PostgreSQL.

Files in ``storage/sql`` are applied in name order, each in its own
transaction, and recorded in ``schema_migrations``; running again applies
only what is new, so ``gramstack migrate`` and server start-up can both call
it safely, from many processes at once.
"""

from __future__ import annotations

import logging
import time
from importlib import resources

from gramstack.storage.ports import Connection, Database

log = logging.getLogger("gramstack.migrate")


def _migration_files(dialect: str) -> list[tuple[str, str]]:
    """``NNNN_name.sql`` runs everywhere; ``NNNN_name.<dialect>.sql`` only
    on that dialect (e.g. PostgreSQL's replica identity settings)."""
    folder = resources.files("gramstack.storage") / "sql"
    files = []
    for entry in folder.iterdir():
        parts = entry.name.split(".")
        if parts[-1] != "sql" or (len(parts) == 3 and parts[1] != dialect) or len(parts) > 3:
            continue
        files.append((parts[0], entry.read_text("utf-8")))
    return sorted(files)


def _statements(script: str) -> list[str]:
    lines = [line for line in script.splitlines() if not line.lstrip().startswith("--")]
    return [stmt.strip() for stmt in "\n".join(lines).split(";") if stmt.strip()]


# Any fixed number: the key of the PostgreSQL advisory lock that makes
# servers starting together take turns (SQLite's BEGIN IMMEDIATE already does).
_MIGRATION_LOCK_KEY = 0x6772616D  # "gram"


async def _take_turn(db: Database, conn: Connection) -> None:
    if db.dialect == "postgres":
        await conn.execute("SELECT pg_advisory_xact_lock($1)", _MIGRATION_LOCK_KEY)


async def migrate(db: Database) -> list[str]:
    """Apply pending migrations; returns the versions applied now."""
    async with db.write() as conn:
        await _take_turn(db, conn)
        await conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            " version TEXT PRIMARY KEY, applied_at BIGINT NOT NULL)"
        )
    applied: list[str] = []
    for version, script in _migration_files(db.dialect):
        async with db.write() as conn:
            await _take_turn(db, conn)
            done = await conn.fetchval(
                "SELECT version FROM schema_migrations WHERE version = $1", version
            )
            if done is not None:
                continue
            for statement in _statements(script):
                await conn.execute(statement)
            await conn.execute(
                "INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)",
                version,
                int(time.time() * 1000),
            )
        applied.append(version)
        log.info("applied migration %s", version)
    return applied
