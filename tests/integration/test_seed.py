"""``gramstack seed`` on both primary stores: counters equal their rows, the
timelines hold what fan-out would have put there, and a real server serves a
seeded user's feed and images."""

from __future__ import annotations

import asyncio
import math
import os
import sqlite3
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from gramstack.records import PhotoRecord
from gramstack.runtime.devcluster import ClusterState
from gramstack.seed import PASSWORD
from gramstack.storage.accounts import search_words
from gramstack.storage.media import encode_photos, explore_score
from tests.support.server import TEST_ENV, start_server

# Each query counts the rows whose counter differs from COUNT(*) of what it counts.
_COUNTER_MISMATCHES = [
    "SELECT count(*) FROM users u WHERE follower_count <>"
    " (SELECT count(*) FROM follows f WHERE f.followee_id = u.id)",
    "SELECT count(*) FROM users u WHERE following_count <>"
    " (SELECT count(*) FROM follows f WHERE f.follower_id = u.id)",
    "SELECT count(*) FROM users u WHERE media_count <>"
    " (SELECT count(*) FROM media m WHERE m.owner_id = u.id)",
    "SELECT count(*) FROM media m WHERE like_count <>"
    " (SELECT count(*) FROM likes l WHERE l.media_id = m.id)",
    "SELECT count(*) FROM media m WHERE comment_count <>"
    " (SELECT count(*) FROM comments c WHERE c.media_id = m.id)",
]
_TOTALS = {
    "users": "SELECT count(*) FROM users",
    "follows": "SELECT count(*) FROM follows",
    "media": "SELECT count(*) FROM media",
    "likes": "SELECT count(*) FROM likes",
    "comments": "SELECT count(*) FROM comments",
    "max_followers": "SELECT max(follower_count) FROM users",
}
USERS, POSTS, LIKES, COMMENTS = 120, 600, 900, 400


@pytest.fixture(params=["sqlite", "postgres"])
def backend_env(request: pytest.FixtureRequest) -> Iterator[dict[str, str]]:
    """{} for SQLite; for PostgreSQL, a database of its own on the session's
    leader (the seed wants an empty one)."""
    if request.param == "sqlite":
        yield {}
        return
    cluster: ClusterState = request.getfixturevalue("pg_cluster")
    name = f"seed_{uuid.uuid4().hex[:8]}"

    async def admin(sql: str) -> None:
        conn = await asyncpg.connect(cluster.superuser_dsn(cluster.leader))
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(admin(f"CREATE DATABASE {name} OWNER gramstack"))
    dsn = cluster.database_url.rsplit("/", 1)[0] + f"/{name}"
    yield {"GRAMSTACK_DATABASE_URL": dsn}
    asyncio.run(admin(f"DROP DATABASE {name} WITH (FORCE)"))


def _run_seed(data_dir: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "gramstack.cli",
            "seed",
            "--quiet",
            "--data-dir",
            str(data_dir),
            "--users",
            str(USERS),
            "--posts",
            str(POSTS),
            "--likes",
            str(LIKES),
            "--comments",
            str(COMMENTS),
            "--follows-per-user",
            "20",
            "--timeline-depth",
            "30",
        ],
        env={**os.environ, **TEST_ENV, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def _query_all(data_dir: Path, env: dict[str, str], queries: list[str]) -> list[Any]:
    dsn = env.get("GRAMSTACK_DATABASE_URL")
    if dsn is None:
        with sqlite3.connect(data_dir / "gramstack.db") as conn:
            return [conn.execute(q).fetchone()[0] for q in queries]

    async def run() -> list[Any]:
        conn = await asyncpg.connect(dsn)
        try:
            return [await conn.fetchval(q) for q in queries]
        finally:
            await conn.close()

    return asyncio.run(run())


def test_seed_counters_timelines_and_feed(tmp_path: Path, backend_env: dict[str, str]) -> None:
    done = _run_seed(tmp_path, backend_env)
    assert done.returncode == 0, done.stderr
    assert "rows/s" in done.stdout

    mismatches = _query_all(tmp_path, backend_env, _COUNTER_MISMATCHES)
    assert mismatches == [0] * len(_COUNTER_MISMATCHES)
    totals = dict(
        zip(_TOTALS, _query_all(tmp_path, backend_env, list(_TOTALS.values())), strict=True)
    )
    assert totals["users"] == USERS
    assert totals["media"] == POSTS
    assert totals["likes"] == LIKES
    assert totals["comments"] == COMMENTS
    assert totals["follows"] > USERS * 5
    # Power law: the most followed account has far more than the mean.
    assert totals["max_followers"] > 4 * totals["follows"] / USERS

    # What sign-up and posting write beside the counted rows: user search's
    # words, the photo list and the explore score.
    users = _rows(tmp_path, backend_env, "SELECT id, username, full_name FROM users")
    words = set(_rows(tmp_path, backend_env, "SELECT word, user_id FROM user_words"))
    assert words == {(w, i) for i, name, full in users for w in search_words(name, full)}
    media_rows = _rows(
        tmp_path,
        backend_env,
        "SELECT photos, width, height, created_at, like_count, comment_count, explore_score"
        " FROM media",
    )
    for photos, width, height, created, likes, comments, score in media_rows:
        assert photos == encode_photos([PhotoRecord(width, height, "")])
        assert math.isclose(score, explore_score(created, likes, comments), rel_tol=1e-9)
    if not backend_env:  # the load's settings are undone: servers open WAL files
        for path in (tmp_path / "gramstack.db", tmp_path / "regions" / "local.db"):
            with sqlite3.connect(path) as conn:
                assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"

    # Every timeline row is a post of the user or of someone they follow.
    follows = {
        (row[0], row[1])
        for row in _rows(tmp_path, backend_env, "SELECT follower_id, followee_id FROM follows")
    }
    owners = dict(_rows(tmp_path, backend_env, "SELECT id, owner_id FROM media"))
    with sqlite3.connect(tmp_path / "regions" / "local.db") as region:
        timeline = region.execute("SELECT user_id, media_id, author_id FROM timeline").fetchall()
        reader = region.execute(
            "SELECT user_id FROM timeline GROUP BY user_id ORDER BY count(*) DESC, user_id LIMIT 1"
        ).fetchone()[0]
        expected = [
            r[0]
            for r in region.execute(
                "SELECT media_id FROM timeline WHERE user_id = ? ORDER BY media_id DESC LIMIT 5",
                (reader,),
            )
        ]
        inbox_types = {r[0] for r in region.execute("SELECT DISTINCT type FROM inbox")}
    assert timeline
    for user, media_id, author in timeline:
        assert owners[media_id] == author
        assert author == user or (user, author) in follows
    assert inbox_types == {"follow", "like", "comment"}

    name = dict(_rows(tmp_path, backend_env, "SELECT id, username FROM users"))[reader]
    server = start_server(tmp_path, env=backend_env)
    try:
        with httpx.Client(base_url=server.base_url, timeout=30) as client:
            signed_in = client.post(
                "/api/v1/sessions", json={"username": name, "password": PASSWORD}
            )
            assert signed_in.status_code == 201, signed_in.text
            auth = {"Authorization": f"Bearer {signed_in.json()['token']}"}
            feed = client.get("/api/v1/feed", params={"limit": 5}, headers=auth)
            assert feed.status_code == 200, feed.text
            items = feed.json()["items"]
            assert [int(item["id"]) for item in items] == expected
            media = items[0]
            assert media["like_count"] == _like_count(tmp_path, backend_env, int(media["id"]))
            found = client.get("/api/v1/search/users", params={"q": name}, headers=auth)
            assert found.status_code == 200, found.text
            assert found.json()["items"][0]["username"] == name
            picture = client.get(media["images"]["standard"])
            assert picture.status_code == 200
            assert picture.headers["content-type"] == "image/jpeg"
            assert picture.content[:2] == b"\xff\xd8"
    finally:
        assert server.stop() == 0, server.log()

    again = _run_seed(tmp_path, backend_env)
    assert again.returncode == 1
    assert "already has users" in again.stderr


def _rows(data_dir: Path, env: dict[str, str], sql: str) -> list[tuple[Any, ...]]:
    dsn = env.get("GRAMSTACK_DATABASE_URL")
    if dsn is None:
        with sqlite3.connect(data_dir / "gramstack.db") as conn:
            return conn.execute(sql).fetchall()

    async def run() -> list[tuple[Any, ...]]:
        conn = await asyncpg.connect(dsn)
        try:
            return [tuple(r) for r in await conn.fetch(sql)]
        finally:
            await conn.close()

    return asyncio.run(run())


def _like_count(data_dir: Path, env: dict[str, str], media_id: int) -> int:
    rows = _rows(data_dir, env, f"SELECT count(*) FROM likes WHERE media_id = {media_id}")
    return int(rows[0][0])
