"""Cache invalidation: a rule table from changed rows to cache keys
(``rules``), and the change readers that apply it (``outbox``)."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from gramstack.cache.ports import LeaseCache
from gramstack.invalidation.rules import Change, keys_for
from gramstack.storage.ports import OnCommit

log = logging.getLogger("gramstack.invalidation")


def evict_after_commit(cache: LeaseCache) -> OnCommit:
    """The writer's own eviction, right after its commit (read your writes
    without waiting for any reader of the change stream). A plain delete,
    not stale-while-revalidate: the writer's next read must not be stale."""

    async def evict(changes: Sequence[Change]) -> None:
        try:
            await cache.delete(keys_for(changes))
        except Exception:
            # The change readers evict these keys again shortly.
            log.exception("could not evict after commit")

    return evict
