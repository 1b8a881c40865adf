"""The port every primary-SQL backend implements.

SQL is written once, in PostgreSQL's ``$1`` placeholder style, against this
small surface; the SQLite adapter rewrites placeholders, the PostgreSQL
adapter passes them through. Reads and writes are asked for separately so a
router can send reads to a follower and writes to the leader.

What storage needs from above (where each user's last write sits, what to
do after a commit) is declared here too and passed in by
``runtime/wiring.py``: storage imports nothing above it.
"""

from __future__ import annotations

import contextvars
from collections.abc import Awaitable, Callable, Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any, Literal, Protocol

from gramstack.records import Change

Row = Mapping[str, Any]
Dialect = Literal["sqlite", "postgres"]

# The leader WAL position a read must see, set around a cache fill by the
# layer that knows which keys it fills (``runtime.write_marks``): a router
# sends such a read only to a node that has replayed this far, else to the
# leader. 0: no floor (any usable node).
read_floor: contextvars.ContextVar[int] = contextvars.ContextVar("gramstack_read_floor", default=0)


class BackendUnavailable(ConnectionError):
    """A database node did not answer in time or is gone; the call's outcome
    is unknown (a commit may or may not have landed) and retrying later may
    succeed. ``backend`` names the node for logs, never for clients."""

    def __init__(self, backend: str, reason: str) -> None:
        super().__init__(f"{backend} is unavailable: {reason}")
        self.backend = backend
        self.reason = reason


class Connection(Protocol):
    async def fetch(self, sql: str, *args: Any) -> list[Row]: ...

    async def fetchrow(self, sql: str, *args: Any) -> Row | None: ...

    async def fetchval(self, sql: str, *args: Any) -> Any: ...

    async def execute(self, sql: str, *args: Any) -> None: ...

    async def executemany(self, sql: str, args: Sequence[Sequence[Any]]) -> None: ...


class Database(Protocol):
    dialect: Dialect

    def read(
        self, *, for_user: int | None = None, fresh: bool = False
    ) -> AbstractAsyncContextManager[Connection]:
        """A connection for reads; ``for_user`` lets a router keep that
        user's reads on a node that has seen their last write. ``fresh``
        asks for a node that has every commit (the leader), without opening
        a transaction: for checks that must never be stale, like tokens.
        A router also honours ``read_floor``."""
        ...

    def write(
        self, *, for_user: int | None = None, lsn_out: list[int] | None = None
    ) -> AbstractAsyncContextManager[Connection]:
        """A connection inside a transaction on the leader, committed on exit.
        With ``lsn_out``, a store with followers appends the leader's WAL
        position after the commit (what a follower must replay to see it);
        a single node appends nothing."""
        ...

    async def ping(self) -> None: ...

    def replica_states(self) -> Mapping[str, str]:
        """Health of each read replica by name ("follower:eu" -> "ok" or
        "degraded: ..."); empty for a single node. A degraded replica is
        skipped, so it does not make the store unready."""
        ...

    async def close(self) -> None: ...


# Told the rows a write changed, right after its commit (the writer's own
# cache evictions), with the leader's WAL position after the commit when the
# store has followers (None for a single node).
OnCommit = Callable[[Sequence[Change], int | None], Awaitable[None]]


class WriteMarks(Protocol):
    """Where each user's last write sits in the leader's WAL, shared by
    every process that may serve that user's next read (the follower
    router's read-your-writes)."""

    async def remember(self, user_id: int, lsn: int) -> None: ...

    async def position(self, user_id: int) -> int:
        """The user's last write position; when unknown, one no follower
        reaches (the leader is always safe)."""
        ...

    def close(self) -> None: ...
