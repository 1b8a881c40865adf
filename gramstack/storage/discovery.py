"""Finding people: user search by prefix and suggested accounts.

Both queries are bounded whatever the data: search ranks at most
``SEARCH_CANDIDATES`` prefix matches (a range scan of ``user_words``'
primary key), suggestions look at most at ``FOLLOWINGS_SAMPLED`` of the
viewer's followings and ``THEIR_FOLLOWINGS_SAMPLED`` of each of theirs.
"""

from __future__ import annotations

import sys

from gramstack.storage.ports import Database

# A one-letter query may match a large share of all users; only this many of
# the matches (in word order) are ranked by follower count.
SEARCH_CANDIDATES = 2000
# Each candidate's user row is looked up by its primary key (a correlated
# subquery, so the planner cannot turn it into a scan of every user to hash
# join), and the exact username's ID once.
SEARCH_SQL = (
    "SELECT user_id AS id FROM ("
    " SELECT m.user_id, (SELECT u.follower_count FROM users u"
    " WHERE u.id = m.user_id AND u.deleted_at IS NULL) AS followers"
    " FROM (SELECT DISTINCT user_id FROM"
    " (SELECT user_id FROM user_words WHERE word >= $1 AND word < $2 LIMIT $3) c) m"
    ") r WHERE followers IS NOT NULL"
    " ORDER BY CASE WHEN user_id = (SELECT id FROM users WHERE username = $1) THEN 0 ELSE 1 END,"
    " followers DESC, user_id LIMIT $4 OFFSET $5"
)
FOLLOWINGS_SAMPLED = 100
THEIR_FOLLOWINGS_SAMPLED = 50


def prefix_successor(prefix: str) -> str:
    """The least string greater than every string that starts with ``prefix``
    (in code point order, which both backends use for ``user_words``)."""
    last = ord(prefix[-1])
    if last >= sys.maxunicode:
        return prefix + chr(sys.maxunicode)
    if 0xD7FF <= last < 0xE000:  # skip the surrogates, which no text holds
        return prefix[:-1] + chr(0xE000)
    return prefix[:-1] + chr(last + 1)


class SqlDiscoveryStore:
    def __init__(self, db: Database) -> None:
        self._db = db

    async def search_users(self, prefix: str, offset: int, limit: int) -> list[int]:
        """IDs of live users whose username or a name word starts with
        ``prefix`` (lowercase): the exact username first, then by follower
        count (then ID, so pages are stable)."""
        async with self._db.read() as conn:
            rows = await conn.fetch(
                SEARCH_SQL, prefix, prefix_successor(prefix), SEARCH_CANDIDATES, limit, offset
            )
        return [int(row["id"]) for row in rows]

    async def suggested_users(self, viewer: int, limit: int) -> list[int]:
        """Accounts followed by the viewer's followings (a bounded sample),
        not the viewer and not followed by the viewer, by how many of those
        followings follow them, then by follower count."""
        async with self._db.read(for_user=viewer) as conn:
            rows = await conn.fetch(
                "SELECT followee_id FROM follows WHERE follower_id = $1 ORDER BY id DESC LIMIT $2",
                viewer,
                FOLLOWINGS_SAMPLED,
            )
            followings = [int(row["followee_id"]) for row in rows]
            if not followings:
                return []
            # One bounded index range per sampled following (LIMIT inside each).
            samples = " UNION ALL ".join(
                f"SELECT * FROM (SELECT followee_id FROM follows WHERE follower_id = ${i}"
                f" ORDER BY id DESC LIMIT {THEIR_FOLLOWINGS_SAMPLED}) s{i}"
                for i in range(3, 3 + len(followings))
            )
            rows = await conn.fetch(
                f"SELECT c.followee_id AS id, COUNT(*) AS mutual FROM ({samples}) c"
                " JOIN users u ON u.id = c.followee_id"
                " WHERE c.followee_id <> $1 AND u.deleted_at IS NULL AND NOT EXISTS"
                " (SELECT 1 FROM follows f WHERE f.follower_id = $1"
                " AND f.followee_id = c.followee_id)"
                " GROUP BY c.followee_id, u.follower_count"
                " ORDER BY mutual DESC, u.follower_count DESC, c.followee_id LIMIT $2",
                viewer,
                limit,
                *followings,
            )
        return [int(row["id"]) for row in rows]

    async def most_followed(self, limit: int) -> list[int]:
        """The most-followed live accounts (a backwards scan of ``users_by_followers``)."""
        async with self._db.read() as conn:
            rows = await conn.fetch(
                "SELECT id FROM users WHERE deleted_at IS NULL"
                " ORDER BY follower_count DESC, id DESC LIMIT $1",
                limit,
            )
        return [int(row["id"]) for row in rows]
