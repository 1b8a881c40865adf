"""Reads on the home region's follower, writes on the leader, and every
user's own writes visible to that user on their next read.

Read-your-writes works the way GitLab's load balancer does it: after a
write for user U the leader's WAL insert position is remembered for U
(``WriteMarks``, given by the wiring: a table shared by this server's worker
processes, and the lease cache for other servers); a read for U goes to a follower only if that
follower's replay position, polled every ``refresh_s``, is at or past it.
Polled positions only ever understate the truth, so a stale poll can send
a read to the leader needlessly but never to a follower that is behind.

A cache fill is held to the same rule by key rather than by user: the
layer that fills sets ``read_floor`` (storage.ports) to the WAL position of
the last write evicted from the keys it fills, and the read goes to a node
that has replayed that far (see runtime/write_marks.py for why that keeps
every fill newer than every acknowledged write).

A follower that is down, or more than ``max_lag_s`` behind the leader, is
skipped until a poll finds it healthy again; a statement that fails on a
follower mid-request is re-run on the leader, so callers never see a
follower die.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import contextvars
import logging
import time
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import asyncpg
from prometheus_client import Counter, Gauge

from gramstack.storage.ports import (
    BackendUnavailable,
    Connection,
    Dialect,
    Row,
    WriteMarks,
    read_floor,
)
from gramstack.storage.postgres import PostgresDatabase

log = logging.getLogger("gramstack.storage.router")

READS = Counter(
    "gramstack_db_reads_total",
    "Primary-store reads by the node that served them and why it was chosen",
    ["node", "reason"],
)
REPLAY_LAG = Gauge(
    "gramstack_db_follower_replay_lag_seconds",
    "How far each follower's replay is behind the leader",
    ["follower"],
    multiprocess_mode="livemax",
)
FOLLOWER_UP = Gauge(
    "gramstack_db_follower_up",
    "1 when the follower answers and is within the lag bound, else 0",
    ["follower"],
    multiprocess_mode="livemin",
)

LEADER = "leader"

# The nodes that served this request's reads, for the test-mode response
# header; a list so a middleware that set it sees what the router appends.
read_nodes: contextvars.ContextVar[list[str] | None] = contextvars.ContextVar(
    "gramstack_read_nodes", default=None
)

# Errors after which a follower is presumed gone (or going): the statement
# moves to the leader and the follower is skipped until a poll finds it.
_NODE_ERRORS: tuple[type[BaseException], ...] = (
    BackendUnavailable,
    OSError,
    TimeoutError,
    asyncpg.PostgresConnectionError,
    asyncpg.exceptions.ConnectionDoesNotExistError,
    asyncpg.exceptions.OperatorInterventionError,
)
# Errors a follower gives while healthy; the statement moves, the node stays.
_RETRY_ON_LEADER: tuple[type[BaseException], ...] = (
    asyncpg.exceptions.SerializationError,  # "conflict with recovery"
)


def _note_node(node: str, reason: str) -> None:
    READS.labels(node, reason).inc()
    nodes = read_nodes.get()
    if nodes is not None and reason != "fresh" and node not in nodes:
        nodes.append(node)


@dataclass
class _Follower:
    region: str
    db: PostgresDatabase
    replay_lsn: int | None = None  # None: down, or not a standby
    lag_s: float = 0.0
    error: str = "not polled yet"
    polled_at: float = float("-inf")
    probing: asyncio.Future[None] | None = None  # one probe at a time, shared

    @property
    def name(self) -> str:
        return f"follower:{self.region}"


class FollowerRouter:
    dialect: Dialect = "postgres"

    def __init__(
        self,
        leader: PostgresDatabase,
        followers: Mapping[str, PostgresDatabase],
        *,
        home_region: str,
        marks: WriteMarks,
        max_lag_s: float = 5.0,
        refresh_s: float = 0.05,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.leader = leader
        self._home = home_region
        self._followers = [_Follower(region, db) for region, db in followers.items()]
        # Home first, then the others: a far follower still beats the leader.
        self._followers.sort(key=lambda f: (f.region != home_region, f.region))
        self._marks = marks
        self._max_lag_s = max_lag_s
        self._refresh_s = refresh_s
        self._recheck_s = refresh_s / 10
        self._clock = clock
        # (when, leader WAL position) samples, to turn a replay position into
        # how long ago the leader was there.
        self._leader_history: collections.deque[tuple[float, int]] = collections.deque(
            maxlen=max(16, int((max_lag_s * 4) / refresh_s))
        )
        self._poller: asyncio.Task[None] | None = None

    @property
    def followers(self) -> Sequence[_Follower]:
        return self._followers

    async def open(self) -> None:
        await self.poll()
        self._poller = asyncio.create_task(self._poll_forever())

    # -- health -----------------------------------------------------------

    async def _poll_forever(self) -> None:
        while True:
            await asyncio.sleep(self._refresh_s)
            try:
                await self.poll()
            except Exception:
                log.exception("follower poll failed")

    async def poll(self) -> None:
        """Refresh every follower's replay position and lag once. The leader
        is asked alongside, not first: a hung leader must not stop the
        followers' health from being known (reads go on from them)."""
        await asyncio.gather(self._sample_leader(), *(self._probe(f) for f in self._followers))

    async def _sample_leader(self) -> None:
        try:
            lsn = await asyncio.wait_for(self.leader.flush_lsn(), 1.0)
        except Exception:
            return  # the leader's own health is ping()'s business
        now = self._clock()
        if not self._leader_history or self._leader_history[-1][1] != lsn:
            self._leader_history.append((now, lsn))

    async def _probe(self, follower: _Follower) -> None:
        """Read the follower's replay position; concurrent callers share one query."""
        if follower.probing is not None:
            await asyncio.shield(follower.probing)
            return
        follower.probing = asyncio.get_running_loop().create_future()
        try:
            await self._probe_now(follower)
        finally:
            follower.probing.set_result(None)
            follower.probing = None

    async def _probe_now(self, follower: _Follower) -> None:
        follower.polled_at = self._clock()
        try:
            await asyncio.wait_for(follower.db.ensure_open(), 2.0)
            replay = await asyncio.wait_for(follower.db.replay_lsn(), 1.0)
        except Exception as exc:
            self._mark_down(follower, f"down ({type(exc).__name__})")
            return
        if replay is None:
            self._mark_down(follower, "not replaying (not a standby?)")
            return
        follower.replay_lsn = replay
        follower.lag_s = self._lag(replay)
        follower.error = ""
        REPLAY_LAG.labels(follower.region).set(follower.lag_s)
        FOLLOWER_UP.labels(follower.region).set(1 if self._usable(follower) else 0)

    def _lag(self, replay: int) -> float:
        """Seconds since the leader first stood past ``replay`` (0 if it never has)."""
        for when, lsn in self._leader_history:
            if lsn > replay:
                return max(0.0, self._clock() - when)
        return 0.0

    def _mark_down(self, follower: _Follower, why: str) -> None:
        if follower.replay_lsn is not None:
            log.warning("%s skipped: %s", follower.name, why)
        follower.replay_lsn = None
        follower.error = why
        FOLLOWER_UP.labels(follower.region).set(0)

    def _usable(self, follower: _Follower) -> bool:
        return follower.replay_lsn is not None and follower.lag_s <= self._max_lag_s

    def replica_states(self) -> Mapping[str, str]:
        states = {}
        for f in self._followers:
            if f.replay_lsn is None:
                states[f.name] = f"degraded: {f.error}"
            elif f.lag_s > self._max_lag_s:
                states[f.name] = f"degraded: lagging {f.lag_s:.1f}s"
            else:
                states[f.name] = "ok"
        return states

    # -- routing ------------------------------------------------------------

    async def _eligible(self, for_user: int | None) -> tuple[list[_Follower], str]:
        """Followers that may serve this read, best first; else why none may."""
        usable = [f for f in self._followers if self._usable(f)]
        if not usable:
            return [], "no_follower"
        floor = read_floor.get()
        needed = 0 if for_user is None else await self._marks.position(for_user)
        reason = "fill" if floor > needed else "ryw"
        needed = max(needed, floor)
        if needed == 0:
            return usable, reason
        caught_up = [f for f in usable if (f.replay_lsn or 0) >= needed]
        home = usable[0]
        if not caught_up and self._clock() - home.polled_at >= self._recheck_s:
            # The user wrote since the last poll. Replay usually follows the
            # leader within a millisecond, so asking the follower now (one
            # shared query) usually keeps this read off the leader.
            await self._probe(home)
            if self._usable(home) and (home.replay_lsn or 0) >= needed:
                caught_up = [home]
        return caught_up, reason

    @asynccontextmanager
    async def read(
        self, *, for_user: int | None = None, fresh: bool = False
    ) -> AsyncIterator[Connection]:
        candidates, reason = ([], "fresh") if fresh else await self._eligible(for_user)
        async with contextlib.AsyncExitStack() as stack:
            conn: Connection | None = None
            for follower in candidates:
                try:
                    raw = await stack.enter_async_context(_released_quietly(follower.db))
                except _NODE_ERRORS as exc:
                    self._mark_down(follower, f"down ({type(exc).__name__})")
                    reason = "failover"
                    continue
                conn = _FailoverConnection(self, follower, raw, stack)
                _note_node(follower.name, "home" if follower.region == self._home else "remote")
                break
            if conn is None:
                conn = await stack.enter_async_context(self.leader.read())
                _note_node(LEADER, reason)
            yield conn

    @asynccontextmanager
    async def write(
        self, *, for_user: int | None = None, lsn_out: list[int] | None = None
    ) -> AsyncIterator[Connection]:
        lsn: list[int] = []
        wanted = for_user is not None or lsn_out is not None
        async with self.leader.write(lsn_out=lsn if wanted else None) as conn:
            yield conn
        if lsn and lsn_out is not None:
            lsn_out.append(lsn[0])
        if for_user is not None and lsn:
            await self._marks.remember(for_user, lsn[0])

    async def ping(self) -> None:
        await self.leader.ping()

    async def close(self) -> None:
        if self._poller is not None:
            self._poller.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._poller
            self._poller = None
        for f in self._followers:
            await f.db.close()
        await self.leader.close()
        self._marks.close()


@asynccontextmanager
async def _released_quietly(db: PostgresDatabase) -> AsyncIterator[Connection]:
    """A follower connection whose release cannot fail the request: a dead
    follower's connection errors on the way back to the pool too."""
    manager = db.read()
    conn = await manager.__aenter__()
    try:
        yield conn
    except BaseException as exc:
        with contextlib.suppress(*_NODE_ERRORS):
            await manager.__aexit__(type(exc), exc, exc.__traceback__)
        raise
    else:
        with contextlib.suppress(*_NODE_ERRORS):
            await manager.__aexit__(None, None, None)


class _FailoverConnection:
    """A follower's connection whose statements move to the leader once the
    follower fails; reads run outside transactions, so a statement can be
    re-run on a node that is at least as fresh."""

    def __init__(
        self,
        router: FollowerRouter,
        follower: _Follower,
        conn: Connection,
        stack: contextlib.AsyncExitStack,
    ) -> None:
        self._router = router
        self._follower = follower
        self._conn = conn
        self._stack = stack
        self._moved = False

    async def _run(self, method: str, sql: str, *args: Any) -> Any:
        if not self._moved:
            try:
                return await getattr(self._conn, method)(sql, *args)
            except _NODE_ERRORS as exc:
                self._router._mark_down(self._follower, f"down ({type(exc).__name__})")
            except _RETRY_ON_LEADER:
                pass
            self._moved = True
            self._conn = await self._stack.enter_async_context(self._router.leader.read())
            _note_node(LEADER, "failover")
        return await getattr(self._conn, method)(sql, *args)

    async def fetch(self, sql: str, *args: Any) -> list[Row]:
        rows: list[Row] = await self._run("fetch", sql, *args)
        return rows

    async def fetchrow(self, sql: str, *args: Any) -> Row | None:
        row: Row | None = await self._run("fetchrow", sql, *args)
        return row

    async def fetchval(self, sql: str, *args: Any) -> Any:
        return await self._run("fetchval", sql, *args)

    async def execute(self, sql: str, *args: Any) -> None:
        await self._run("execute", sql, *args)

    async def executemany(self, sql: str, args: Sequence[Sequence[Any]]) -> None:
        await self._run("executemany", sql, args)
