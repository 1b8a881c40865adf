"""The cached newest page of each home timeline (``domain.feed``), on the
embedded backends wired as a server wires them: a warm first page reads no
regional store, every write that adds to a timeline shows on the next read
(in this process and, through the outbox, in another one), and pages past
the cached list walk on from the store without a gap or a repeat."""

from __future__ import annotations

import asyncio
import io
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from gramstack.domain import feed, graph, media
from gramstack.domain.backends import Backends
from gramstack.domain.models import PageRequest
from gramstack.domain.pagination import decode_cursor
from gramstack.runtime.config import Settings
from gramstack.runtime.wiring import open_backends


def _settings(data_dir: Path) -> Settings:
    return Settings(
        data_dir=data_dir,
        job_poll_interval_s=0.01,
        argon2_time_cost=1,
        argon2_memory_kib=8,
    )


@pytest.fixture
async def b(tmp_path: Path) -> AsyncIterator[Backends]:
    """This process: it serves, and runs the fan-out jobs."""
    async with open_backends(_settings(tmp_path), run_jobs=True) as running:
        yield running.backends


@pytest.fixture
async def other(tmp_path: Path, b: Backends) -> AsyncIterator[Backends]:
    """Another worker on the same files: its own in-process cache, no jobs."""
    async with open_backends(_settings(tmp_path), run_jobs=False) as running:
        yield running.backends


class StoreReads:
    """Counts the timeline reads that reach a regional store (a spy on the
    real store: every call still runs)."""

    def __init__(self, b: Backends, monkeypatch: pytest.MonkeyPatch) -> None:
        self.calls: list[tuple[int | None, int, bool]] = []
        for region in b.regions.values():
            real = region.timeline_page

            async def spy(
                user_id: int,
                after: int | None,
                limit: int,
                *,
                fresh: bool = False,
                real: Callable[..., Awaitable[list[int]]] = real,
            ) -> list[int]:
                self.calls.append((after, limit, fresh))
                return await real(user_id, after, limit, fresh=fresh)

            monkeypatch.setattr(region, "timeline_page", spy)


def _jpeg() -> io.BytesIO:
    out = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 120, 40)).save(out, "JPEG")
    out.seek(0)
    return out


async def _user(b: Backends, name: str) -> int:
    user = await b.store.accounts.create_user(b.next_id(), name, "x", "", b.clock_ms())
    assert user is not None
    await b.placement.place_new_user(user.id)
    return user.id


async def _post(b: Backends, author: int) -> int:
    return (await media.post_media(b, author, [_jpeg()], "a post")).media.id


async def _feed_ids(b: Backends, viewer: int, limit: int = 20, after: int | None = None) -> Any:
    page = await feed.home_feed(b, viewer, PageRequest(limit=limit, after=after))
    return [v.media.id for v in page.items], page.next_cursor


async def _eventually(check: Callable[[], Awaitable[bool]], timeout_s: float = 10) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while not await check():
        assert loop.time() < deadline, "still false"
        await asyncio.sleep(0.02)


async def _fanned_out(b: Backends, viewer: int, expected: list[int]) -> None:
    async def shown() -> bool:
        return (await _feed_ids(b, viewer))[0] == expected

    await _eventually(shown)


async def test_a_warm_first_page_reads_no_regional_store(
    b: Backends, monkeypatch: pytest.MonkeyPatch
) -> None:
    author, viewer = await _user(b, "author"), await _user(b, "viewer")
    await graph.follow(b, viewer, "author")
    posts = [await _post(b, author) for _ in range(3)]
    await _fanned_out(b, viewer, posts[::-1])

    reads = StoreReads(b, monkeypatch)
    for _ in range(3):
        assert (await _feed_ids(b, viewer))[0] == posts[::-1]
    assert reads.calls == []


async def test_every_write_that_adds_to_a_timeline_shows_on_the_next_read(
    b: Backends, other: Backends, monkeypatch: pytest.MonkeyPatch
) -> None:
    author, viewer = await _user(b, "author"), await _user(b, "viewer")
    first = await _post(b, author)
    # Both processes cache the viewer's (empty) timeline first.
    assert (await _feed_ids(b, viewer))[0] == []
    assert (await _feed_ids(other, viewer))[0] == []

    # A follow's backfill: read back at once by the follower's own process.
    await graph.follow(b, viewer, "author")
    assert (await _feed_ids(b, viewer))[0] == [first]
    await _fanned_out(other, viewer, [first])  # cached there too

    # A post: at once in the author's own feed, then fanned out by a job
    # and seen by the other process, whose cached list the outbox evicts.
    reads = StoreReads(other, monkeypatch)
    second = await _post(b, author)
    assert (await _feed_ids(b, author))[0] == [second, first]
    await _fanned_out(other, viewer, [second, first])
    assert [fresh for _, _, fresh in reads.calls] == [True]  # one refill, from the leader

    # An unfollow's cleanup.
    await graph.unfollow(b, viewer, "author")
    await _fanned_out(other, viewer, [])


async def test_pages_past_the_cached_list_walk_on_from_the_store(
    b: Backends, monkeypatch: pytest.MonkeyPatch
) -> None:
    author, viewer = await _user(b, "author"), await _user(b, "viewer")
    await graph.follow(b, viewer, "author")
    posts = [await _post(b, author) for _ in range(feed.TIMELINE_CACHED + 9)]
    newest_first = posts[::-1]
    await _fanned_out(b, viewer, newest_first[:20])

    reads = StoreReads(b, monkeypatch)
    seen: list[int] = []
    after: int | None = None
    pages = 0
    while True:
        ids, cursor = await _feed_ids(b, viewer, limit=20, after=after)
        seen += ids
        pages += 1
        if pages == 5:
            # Five pages of 20 and the one after them fit the cached 101.
            assert reads.calls == []
        if cursor is None:
            break
        after = decode_cursor(feed.FEED, cursor)
    assert seen == newest_first
    assert reads.calls and all(not fresh and after is not None for after, _, fresh in reads.calls)
