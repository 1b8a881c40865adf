"""The durable job queue. Jobs are written by the transaction that causes
them (``Transaction.enqueue``) or here; payloads are opaque text to storage
(``domain.jobs`` types them)."""

from __future__ import annotations

from collections.abc import Sequence

from gramstack.records import Job, NewJob
from gramstack.storage.ports import Database
from gramstack.storage.transaction import insert_jobs


class SqlJobQueue:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def enqueue(self, jobs: Sequence[NewJob], now: int) -> None:
        async with self._db.write() as conn:
            await insert_jobs(conn, jobs, now)

    async def claim_job(self, now: int, lease_ms: int) -> Job | None:
        """Take the oldest ready job for ``lease_ms``; a worker that dies
        holding it lets the lease run out and another worker retries."""
        lock = " FOR UPDATE SKIP LOCKED" if self._db.dialect == "postgres" else ""
        # Idle polls must not take the write lock (SQLite has only one).
        async with self._db.read() as conn:
            ready = await conn.fetchval(
                "SELECT id FROM jobs WHERE run_after <= $1 AND claimed_until <= $1 LIMIT 1", now
            )
        if ready is None:
            return None
        async with self._db.write() as conn:
            row = await conn.fetchrow(
                "SELECT id FROM jobs WHERE run_after <= $1 AND claimed_until <= $1"
                f" ORDER BY run_after, id LIMIT 1{lock}",
                now,
            )
            if row is None:
                return None
            claimed = await conn.fetchrow(
                "UPDATE jobs SET claimed_until = $2, attempts = attempts + 1 WHERE id = $1"
                " RETURNING id, kind, payload, attempts",
                row["id"],
                now + lease_ms,
            )
        if claimed is None:
            return None
        return Job(
            id=claimed["id"],
            kind=claimed["kind"],
            payload=claimed["payload"],
            attempts=claimed["attempts"],
        )

    async def complete_job(self, job_id: int) -> None:
        async with self._db.write() as conn:
            await conn.execute("DELETE FROM jobs WHERE id = $1", job_id)

    async def retry_job(self, job_id: int, run_after: int, error: str) -> None:
        async with self._db.write() as conn:
            await conn.execute(
                "UPDATE jobs SET run_after = $2, claimed_until = 0, last_error = $3 WHERE id = $1",
                job_id,
                run_after,
                error[:2000],
            )
