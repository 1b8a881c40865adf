"""Finding people: user search and suggested accounts.

Both cache ranked ID lists only (with leases, evicted by the rule table:
``user_words`` changes evict the search results of every prefix of the
word, a follow evicts the follower's suggestions); the users themselves
come through the user cache, so counts, names and deletions are current.
The ranking by follower count may lag by the ranking TTL.
"""

from __future__ import annotations

import json

from gramstack.cache import keys
from gramstack.domain.backends import Backends
from gramstack.domain.errors import ValidationFailed
from gramstack.domain.hydration import user_views
from gramstack.domain.models import Page, PageRequest, UserView
from gramstack.domain.pagination import encode_cursor

SEARCH = "usearch"
MAX_QUERY = 30
# The first ranked IDs of a query are cached as one list: the largest page, plus one.
CACHED_RESULTS = 101
RANKING_TTL_S = 60
MAX_SUGGESTIONS = 50
DEFAULT_SUGGESTIONS = 20


def _ttl(b: Backends) -> int:
    return min(RANKING_TTL_S, b.limits.cache_ttl_s)


async def search_users(
    b: Backends, query: str, page: PageRequest, viewer: int | None
) -> Page[UserView]:
    if not 1 <= len(query) <= MAX_QUERY:
        raise ValidationFailed("q", f"must be 1 to {MAX_QUERY} characters")
    prefix = query.lower()
    offset = page.after or 0
    wanted = page.limit + 1
    if offset + wanted <= CACHED_RESULTS:

        async def load() -> bytes | None:
            found = await b.store.discovery.search_users(prefix, 0, CACHED_RESULTS)
            return json.dumps(found).encode()

        cached = await b.cache.get_or_load(keys.user_search_key(prefix), load, _ttl(b))
        ids: list[int] = json.loads(cached or b"[]")[offset : offset + wanted]
    else:
        ids = await b.store.discovery.search_users(prefix, offset, wanted)
    more = len(ids) > page.limit
    ids = ids[: page.limit]
    # The cursor is the rank reached (an offset into a ranking, not an ID).
    cursor = encode_cursor(SEARCH, offset + len(ids)) if more else None
    return Page(await user_views(b, ids, viewer), cursor)


async def suggestions(b: Backends, viewer: int, limit: int) -> list[UserView]:
    async def load() -> bytes | None:
        ranked = await b.store.discovery.suggested_users(viewer, MAX_SUGGESTIONS)
        if len(ranked) < MAX_SUGGESTIONS:
            # Too few friends of friends (a new account): the most followed,
            # with room for the ones the viewer follows, filtered below.
            extra = await b.store.discovery.most_followed(2 * MAX_SUGGESTIONS + 1)
            ranked += [i for i in extra if i not in ranked]
        return json.dumps(ranked).encode()

    cached = await b.cache.get_or_load(keys.suggestions_key(viewer), load, _ttl(b))
    ranked: list[int] = [i for i in json.loads(cached or b"[]") if i != viewer]
    # Filtered again per request: a follow made since the list was cached
    # shows at once (the follows flags are exact).
    views = await user_views(b, ranked[: 2 * MAX_SUGGESTIONS + 1], viewer)
    return [v for v in views if not v.followed_by_me][:limit]
