"""FollowerRouter's choices, against fake nodes whose WAL positions the
tests set by hand."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from gramstack.cache.memory import InProcessLeaseCache
from gramstack.cache.null import NullLeaseCache
from gramstack.runtime.shared import SharedMaxTable
from gramstack.runtime.write_marks import SharedWriteMarks
from gramstack.storage.ports import Database, read_floor
from gramstack.storage.router import FollowerRouter, read_nodes


class _Conn:
    def __init__(self, node: _FakeNode) -> None:
        self._node = node

    async def fetch(self, sql: str, *args: Any) -> list[dict[str, Any]]:
        return [{"node": await self.fetchval(sql)}]

    async def fetchrow(self, sql: str, *args: Any) -> dict[str, Any] | None:
        return {"node": await self.fetchval(sql)}

    async def fetchval(self, sql: str, *args: Any) -> Any:
        if self._node.broken:
            raise ConnectionResetError("gone")
        self._node.statements.append(sql)
        return self._node.name

    async def execute(self, sql: str, *args: Any) -> None:
        await self.fetchval(sql)

    async def executemany(self, sql: str, args: Sequence[Sequence[Any]]) -> None:
        await self.fetchval(sql)


class _FakeNode:
    def __init__(self, name: str, lsn: int = 100) -> None:
        self.name = name
        self.lsn = lsn  # flush/insert position on a leader, replay position on a follower
        self.down = False
        self.broken = False  # connections fail mid-statement
        self.statements: list[str] = []

    async def ensure_open(self) -> None:
        if self.down:
            raise ConnectionRefusedError("down")

    @asynccontextmanager
    async def read(self, **_: Any) -> AsyncIterator[_Conn]:
        if self.down:
            raise ConnectionRefusedError("down")
        yield _Conn(self)

    @asynccontextmanager
    async def write(self, *, lsn_out: list[int] | None = None, **_: Any) -> AsyncIterator[_Conn]:
        yield _Conn(self)
        self.lsn += 10
        if lsn_out is not None:
            lsn_out.append(self.lsn)

    async def replay_lsn(self) -> int | None:
        if self.down:
            raise ConnectionRefusedError("down")
        return self.lsn

    async def flush_lsn(self) -> int:
        return self.lsn

    async def ping(self) -> None: ...

    async def close(self) -> None: ...


class _Clock:
    now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def nodes() -> dict[str, _FakeNode]:
    return {"leader": _FakeNode("leader"), "local": _FakeNode("local"), "eu": _FakeNode("eu")}


@pytest.fixture
def clock() -> _Clock:
    return _Clock()


@pytest.fixture
async def router(
    nodes: dict[str, _FakeNode], clock: _Clock, tmp_path: Path
) -> AsyncIterator[FollowerRouter]:
    marks = SharedWriteMarks(SharedMaxTable(tmp_path / "marks"), NullLeaseCache(), ttl_s=10)
    r = FollowerRouter(
        nodes["leader"],  # type: ignore[arg-type]
        {"eu": nodes["eu"], "local": nodes["local"]},  # type: ignore[dict-item]
        home_region="local",
        marks=marks,
        max_lag_s=5,
        clock=clock,
    )
    await r.poll()  # no background task: the tests poll by hand
    yield r
    await r.close()


async def _served_by(router: FollowerRouter, **kwargs: Any) -> str:
    async with router.read(**kwargs) as conn:
        return str(await conn.fetchval("SELECT 1"))


def test_router_matches_the_port(router: FollowerRouter) -> None:
    port: Database = router
    assert port.dialect == "postgres"


async def test_anonymous_reads_go_to_the_home_follower(router: FollowerRouter) -> None:
    assert await _served_by(router) == "local"


async def test_fresh_reads_go_to_the_leader(router: FollowerRouter) -> None:
    assert await _served_by(router, fresh=True) == "leader"


async def test_a_writer_reads_the_leader_until_the_follower_replays_the_write(
    router: FollowerRouter, nodes: dict[str, _FakeNode]
) -> None:
    async with router.write(for_user=7) as conn:
        await conn.execute("UPDATE")
    assert nodes["leader"].lsn == 110
    assert await _served_by(router, for_user=7) == "leader"
    assert await _served_by(router, for_user=8) == "local"  # others are not held back
    nodes["local"].lsn = 110
    assert await _served_by(router, for_user=7) == "leader"  # not polled yet
    await router.poll()
    assert await _served_by(router, for_user=7) == "local"


async def test_a_writer_past_the_last_poll_asks_the_follower_once_more(
    router: FollowerRouter, nodes: dict[str, _FakeNode], clock: _Clock
) -> None:
    async with router.write(for_user=7):
        pass
    nodes["local"].lsn = 110  # replayed since the last poll
    clock.now += 0.02
    assert await _served_by(router, for_user=7) == "local"


async def test_a_caught_up_remote_follower_beats_the_leader(
    router: FollowerRouter, nodes: dict[str, _FakeNode]
) -> None:
    async with router.write(for_user=7):
        pass
    nodes["eu"].lsn = 110
    await router.poll()
    assert await _served_by(router, for_user=7) == "eu"


async def test_down_followers_are_skipped_then_used_again(
    router: FollowerRouter, nodes: dict[str, _FakeNode]
) -> None:
    nodes["local"].down = True
    await router.poll()
    assert await _served_by(router) == "eu"
    assert router.replica_states()["follower:local"].startswith("degraded: down")
    nodes["eu"].down = True
    await router.poll()
    assert await _served_by(router) == "leader"
    nodes["local"].down = nodes["eu"].down = False
    await router.poll()
    assert await _served_by(router) == "local"
    assert set(router.replica_states().values()) == {"ok"}


async def test_a_follower_lagging_past_the_bound_is_skipped(
    router: FollowerRouter, nodes: dict[str, _FakeNode], clock: _Clock
) -> None:
    nodes["leader"].lsn = 200  # the leader moved on; "local" stays at 100
    nodes["eu"].lsn = 200
    await router.poll()
    assert await _served_by(router) == "local"  # behind, but only just
    clock.now += 6
    await router.poll()
    assert router.replica_states()["follower:local"] == "degraded: lagging 6.0s"
    assert await _served_by(router) == "eu"


async def test_a_statement_that_fails_on_a_follower_is_rerun_on_the_leader(
    router: FollowerRouter, nodes: dict[str, _FakeNode]
) -> None:
    nodes["local"].broken = True
    assert await _served_by(router) == "leader"
    assert router.replica_states()["follower:local"].startswith("degraded: down")
    assert await _served_by(router) == "eu"


async def test_an_unreachable_follower_falls_back_at_once(
    router: FollowerRouter, nodes: dict[str, _FakeNode]
) -> None:
    nodes["local"].down = True  # not polled since: the router still thinks it is up
    assert await _served_by(router) == "eu"


async def test_the_nodes_that_served_reads_are_recorded_for_the_header(
    router: FollowerRouter,
) -> None:
    seen: list[str] = []
    token = read_nodes.set(seen)
    try:
        await _served_by(router)
        await _served_by(router, fresh=True)  # token checks do not count
        await _served_by(router)
    finally:
        read_nodes.reset(token)
    assert seen == ["follower:local"]


def test_shared_table_keeps_the_highest_position_across_processes(tmp_path: Path) -> None:
    one, two = SharedMaxTable(tmp_path / "t"), SharedMaxTable(tmp_path / "t")
    one.raise_to(42, 500)
    two.raise_to(42, 300)
    assert one.get(42) == two.get(42) == 500
    assert one.get(43) in (0, 500)  # a shared slot errs towards the leader
    one.close()
    two.close()


async def test_write_marks_also_consult_the_shared_cache(tmp_path: Path) -> None:
    cache = InProcessLeaseCache(1 << 20)
    here = SharedWriteMarks(SharedMaxTable(tmp_path / "a"), cache, ttl_s=10)
    elsewhere = SharedWriteMarks(SharedMaxTable(tmp_path / "b"), cache, ttl_s=10)
    await here.remember(9, 1234)
    assert await elsewhere.position(9) == 1234
    assert await elsewhere.position(10) == 0
    here.close()
    elsewhere.close()


async def test_a_read_under_a_floor_goes_where_the_floor_was_replayed(
    router: FollowerRouter, nodes: dict[str, _FakeNode], clock: _Clock
) -> None:
    nodes["leader"].lsn = 150
    token = read_floor.set(150)
    try:
        assert await _served_by(router) == "leader"  # no follower replayed 150
        nodes["eu"].lsn = 150
        await router.poll()
        assert await _served_by(router) == "eu"  # a far one that did beats the leader
        assert await _served_by(router, for_user=8) == "eu"
    finally:
        read_floor.reset(token)
    assert await _served_by(router) == "local"  # without the floor: home again


async def test_a_write_reports_its_position_when_asked(
    router: FollowerRouter, nodes: dict[str, _FakeNode]
) -> None:
    lsn: list[int] = []
    async with router.write(lsn_out=lsn) as conn:
        await conn.execute("UPDATE")
    assert lsn == [nodes["leader"].lsn] == [110]
