"""Akkio's location table (``user_id -> region, epoch``) and the per-region
read counters the placement policy decides by."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from gramstack.records import LocationRecord, LocationState
from gramstack.storage.ports import Database, Row
from gramstack.storage.queries import fetchrow_fresh

_COLUMNS = "user_id, region, target, state, epoch, changed_at"

# Decays a score recorded at a time (ms) to now (ms); placement's policy
# passes it in, so the decay law is declared there once.
Decay = Callable[[float, int], float]


def _location(row: Row) -> LocationRecord:
    return LocationRecord(**row)


class SqlLocationTable:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def location(self, user_id: int) -> LocationRecord | None:
        # From the leader: a miss is rare (the shared cache answers the rest)
        # and a follower's older row would route writes past a move. While the
        # leader is down no move can advance, so a follower's row will do.
        row = await fetchrow_fresh(
            self._db, f"SELECT {_COLUMNS} FROM placements WHERE user_id = $1", user_id
        )
        return None if row is None else _location(row)

    async def place(self, user_id: int, region: str, now: int) -> LocationRecord:
        async with self._db.write() as conn:
            await conn.execute(
                "INSERT INTO placements (user_id, region, changed_at) VALUES ($1, $2, $3)"
                " ON CONFLICT (user_id) DO NOTHING",
                user_id,
                region,
                now,
            )
            row = await conn.fetchrow(
                f"SELECT {_COLUMNS} FROM placements WHERE user_id = $1", user_id
            )
        assert row is not None
        return _location(row)

    async def transition(
        self,
        current: LocationRecord,
        *,
        region: str,
        target: str | None,
        state: LocationState,
        now: int,
    ) -> LocationRecord | None:
        async with self._db.write() as conn:
            row = await conn.fetchrow(
                "UPDATE placements SET region = $3, target = $4, state = $5,"
                " epoch = epoch + 1, changed_at = $6 WHERE user_id = $1 AND epoch = $2"
                f" RETURNING {_COLUMNS}",
                current.user_id,
                current.epoch,
                region,
                target,
                state,
                now,
            )
        return None if row is None else _location(row)

    async def add_reads(
        self, counts: Mapping[tuple[int, str], int], now: int, decay: Decay
    ) -> None:
        if not counts:
            return
        async with self._db.write() as conn:
            for (user_id, region), reads in sorted(counts.items()):
                row = await conn.fetchrow(
                    "SELECT score, updated_at FROM placement_reads"
                    " WHERE user_id = $1 AND region = $2",
                    user_id,
                    region,
                )
                score = reads + (0.0 if row is None else decay(row["score"], row["updated_at"]))
                await conn.execute(
                    "INSERT INTO placement_reads (user_id, region, score, updated_at)"
                    " VALUES ($1, $2, $3, $4) ON CONFLICT (user_id, region)"
                    " DO UPDATE SET score = excluded.score, updated_at = excluded.updated_at",
                    user_id,
                    region,
                    score,
                    now,
                )

    async def read_scores(self, user_id: int, now: int, decay: Decay) -> dict[str, float]:
        async with self._db.read() as conn:
            rows = await conn.fetch(
                "SELECT region, score, updated_at FROM placement_reads WHERE user_id = $1",
                user_id,
            )
        return {row["region"]: decay(row["score"], row["updated_at"]) for row in rows}

    async def users_with_reads(self) -> list[int]:
        async with self._db.read() as conn:
            rows = await conn.fetch("SELECT DISTINCT user_id FROM placement_reads ORDER BY 1")
        return [row["user_id"] for row in rows]
