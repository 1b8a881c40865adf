"""Leases on logical ID shards (one per ID-minting process) and token
buckets for rate limits: the two small tables of coordination state."""

from __future__ import annotations

from gramstack.storage.ports import Database


class SqlIdShardLeases:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def lease_id_shard(self, owner: str, now: int, ttl_ms: int, shards: int) -> int:
        """Take the lowest free (or expired) shard; raises if all are held."""
        async with self._db.write() as conn:
            if self._db.dialect == "postgres":
                # Two starting servers must not both see shard 0 free.
                await conn.execute("LOCK TABLE id_shard_leases IN SHARE ROW EXCLUSIVE MODE")
            rows = await conn.fetch(
                "SELECT shard, owner, expires_at FROM id_shard_leases ORDER BY shard"
            )
            taken = {r["shard"] for r in rows if r["expires_at"] > now and r["owner"] != owner}
            for shard in range(shards):
                if shard not in taken:
                    await conn.execute(
                        "INSERT INTO id_shard_leases (shard, owner, expires_at)"
                        " VALUES ($1, $2, $3) ON CONFLICT (shard) DO UPDATE"
                        " SET owner = excluded.owner, expires_at = excluded.expires_at",
                        shard,
                        owner,
                        now + ttl_ms,
                    )
                    return shard
        raise RuntimeError("every ID shard is leased")

    async def renew_id_shard(self, shard: int, owner: str, now: int, ttl_ms: int) -> bool:
        async with self._db.write() as conn:
            held = await conn.fetchval(
                "UPDATE id_shard_leases SET expires_at = $3"
                " WHERE shard = $1 AND owner = $2 RETURNING shard",
                shard,
                owner,
                now + ttl_ms,
            )
        return held is not None

    async def release_id_shard(self, shard: int, owner: str) -> None:
        async with self._db.write() as conn:
            await conn.execute(
                "DELETE FROM id_shard_leases WHERE shard = $1 AND owner = $2", shard, owner
            )


class SqlRateLimitBuckets:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def take_token(self, bucket: str, capacity: float, per_ms: float, now: int) -> float:
        """Spend one token of ``bucket``; returns 0 on success, else the
        milliseconds until a token will be there."""
        lock = " FOR UPDATE" if self._db.dialect == "postgres" else ""
        async with self._db.write() as conn:
            row = await conn.fetchrow(
                f"SELECT tokens, updated_at FROM rate_limits WHERE bucket = $1{lock}", bucket
            )
            tokens = capacity
            if row is not None:
                elapsed = max(0, now - int(row["updated_at"]))
                tokens = min(capacity, float(row["tokens"]) + elapsed * per_ms)
            wait = 0.0 if tokens >= 1 else (1 - tokens) / per_ms
            await conn.execute(
                "INSERT INTO rate_limits (bucket, tokens, updated_at) VALUES ($1, $2, $3)"
                " ON CONFLICT (bucket) DO UPDATE"
                " SET tokens = excluded.tokens, updated_at = excluded.updated_at",
                bucket,
                tokens - 1 if wait == 0 else tokens,
                now,
            )
        return wait

    async def forget_idle_buckets(self, older_than: int) -> None:
        async with self._db.write() as conn:
            await conn.execute("DELETE FROM rate_limits WHERE updated_at < $1", older_than)
