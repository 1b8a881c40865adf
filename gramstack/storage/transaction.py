"""A write transaction and what it carries out besides its own rows.

Each write is one leader transaction that changes the row, the counters
that count it (``UPDATE … SET n = n + 1``, never ``COUNT(*)`` on read), the
follow-up jobs and the outbox entry naming the changed rows, so a crash
can never leave a like without its count or a post without its fan-out.
Jobs and changes are plain data collected on the ``Transaction`` handle
(``tx.enqueue(job)``, ``tx.changed(change)``) and written just before the
commit; nothing calls back into the layers above.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager

from gramstack.records import Change, NewJob
from gramstack.storage import outbox
from gramstack.storage.ports import Connection, Database, OnCommit
from gramstack.storage.queries import has_replicas


async def insert_jobs(conn: Connection, jobs: Sequence[NewJob], run_after: int) -> None:
    if jobs:
        await conn.executemany(
            "INSERT INTO jobs (id, kind, payload, run_after) VALUES ($1, $2, $3, $4)",
            [(job.id, job.kind, job.payload, run_after) for job in jobs],
        )


class Transaction:
    """One write in progress on the leader."""

    def __init__(self, conn: Connection, now: int) -> None:
        self.conn = conn
        self.now = now  # when enqueued jobs become ready (0 for writes that enqueue none)
        self.changes: list[Change] = []
        self.jobs: list[NewJob] = []

    def enqueue(self, *jobs: NewJob) -> None:
        """Queue follow-up jobs; they commit with this transaction or not at all."""
        self.jobs.extend(jobs)

    def changed(self, *changes: Change) -> None:
        """Name rows this transaction changed, for the outbox and the evictions."""
        self.changes.extend(changes)


class Writer:
    """Opens write transactions and carries out what they collected."""

    def __init__(
        self,
        db: Database,
        *,
        on_commit: OnCommit | None = None,
        outbox: bool = True,
        on_outbox: Callable[[int], None] | None = None,
    ) -> None:
        self.db = db
        self._on_commit = on_commit
        # Told each committed outbox ID, so readers in other processes can
        # skip the outbox query while nothing new was committed.
        self._on_outbox = on_outbox
        # The outbox is for caches that live in each process; a shared cache
        # (memcached) is kept current by the invalidator reading the WAL, and
        # the outbox's single sequence row would only serialize the writers.
        self._outbox = outbox

    @asynccontextmanager
    async def transaction(
        self, *, for_user: int | None = None, now: int = 0
    ) -> AsyncIterator[Transaction]:
        """A write transaction whose jobs and changed rows are written at its
        end, and whose cache keys are evicted right after the commit."""
        outbox_id: int | None = None
        # The commit's position, for the evictions: they mark each key as
        # written there before deleting it (see runtime.write_marks).
        lsn: list[int] | None = (
            [] if self._on_commit is not None and has_replicas(self.db) else None
        )
        async with self.db.write(for_user=for_user, lsn_out=lsn) as conn:
            tx = Transaction(conn, now)
            yield tx
            await insert_jobs(conn, tx.jobs, tx.now)
            if tx.changes and self._outbox:
                outbox_id = await outbox.append(conn, tx.changes)
        if outbox_id is not None and self._on_outbox is not None:
            self._on_outbox(outbox_id)
        if tx.changes and self._on_commit is not None:
            await self._on_commit(tx.changes, lsn[0] if lsn else None)
