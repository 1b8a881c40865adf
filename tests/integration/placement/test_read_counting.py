"""Which regional reads count for placement: the user reading their own
inbox does (the Akkio policy moves users towards where they read from); the
unread badge and the seen-mark check are lookups and do not."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from gramstack.cache import keys
from gramstack.domain import activity, activity_marks
from gramstack.domain.backends import Backends
from gramstack.domain.models import PageRequest
from gramstack.records import ActivityRecord
from gramstack.runtime.config import Settings
from gramstack.runtime.wiring import open_backends


@pytest.fixture
async def backends(tmp_path: Path) -> AsyncIterator[Backends]:
    settings = Settings(
        data_dir=tmp_path,
        regions=("us", "eu"),
        region="us",
        placement_flush_s=3600,  # counts are flushed by the test alone
        argon2_time_cost=1,
        argon2_memory_kib=8,
    )
    async with open_backends(settings, run_jobs=False) as running:
        yield running.backends


async def _user_with_an_item(b: Backends) -> tuple[int, int]:
    user = await b.store.accounts.create_user(b.next_id(), "reader", "x", "", b.clock_ms())
    actor = await b.store.accounts.create_user(b.next_id(), "follower", "x", "", b.clock_ms())
    assert user is not None and actor is not None
    await b.placement.place_new_user(user.id)
    item = ActivityRecord(b.next_id(), "follow", actor.id, None, b.clock_ms())
    await b.write_regional(user.id, lambda r: r.add_activity(user.id, item))
    return user.id, item.id


async def test_the_unread_count_and_the_seen_mark_count_no_access(backends: Backends) -> None:
    b = backends
    user, item = await _user_with_an_item(b)
    assert await activity_marks.unread_count(b, user) == 1
    await activity_marks.mark_seen(b, user, item)
    # The invalidator would evict the badge when the mark moves; the reload
    # is one more lookup.
    await b.cache.delete([keys.unread_key(user)])
    assert await activity_marks.unread_count(b, user) == 0
    await b.placement.flush_reads()
    assert await b.placement.read_scores(user) == {}


async def test_reading_the_inbox_counts_an_access_in_the_serving_region(
    backends: Backends,
) -> None:
    b = backends
    user, item = await _user_with_an_item(b)
    page = await activity.activity(b, user, PageRequest(limit=10, after=None))
    assert [view.activity.id for view in page.items] == [item]
    await b.placement.flush_reads()
    scores = await b.placement.read_scores(user)
    assert set(scores) == {"us"} and scores["us"] > 0, scores
