"""Cache invalidation: a rule table from changed rows to cache keys
(``rules``), and the change readers that apply it (``outbox``)."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence

from gramstack.cache.ports import LeaseCache
from gramstack.invalidation.rules import Change, keys_for
from gramstack.storage.ports import OnCommit

log = logging.getLogger("gramstack.invalidation")


def evict_after_commit(
    cache: LeaseCache, mark: Callable[[Sequence[str], int], Awaitable[None]] | None = None
) -> OnCommit:
    """The writer's own eviction, right after its commit (read your writes
    without waiting for any reader of the change stream). A plain delete,
    not stale-while-revalidate: the writer's next read must not be stale.
    With followers, each key is first marked as written at the commit's
    position (``mark``), so that no refill reads a follower behind it."""

    async def evict(changes: Sequence[Change], lsn: int | None) -> None:
        keys = keys_for(changes)
        try:
            if mark is not None and lsn is not None:
                await mark(keys, lsn)
            await cache.delete(keys)
        except Exception:
            # The change readers evict these keys again shortly.
            log.exception("could not evict after commit")

    return evict
