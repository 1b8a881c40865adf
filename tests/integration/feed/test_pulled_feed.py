"""Fan-out with pull, through real server processes: an account with more
followers than ``fanout_pull_threshold`` (3 here) is not fanned out; its
posts are merged into its followers' feeds at read time, with api.md's
pagination and read-your-writes promises intact."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path

import httpx
import pytest

from gramstack.runtime.devcluster import ClusterState
from tests.api.conftest import (
    API,
    Account,
    delete_media,
    eventually,
    follow,
    get_page,
    ids,
    paginate,
    post_media,
    signup_user,
    unfollow,
)
from tests.support.postgres import own_database_env
from tests.support.server import ServerProcess, start_server

FEED = f"{API}/feed"
THRESHOLD = 3


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServerProcess]:
    env = {"GRAMSTACK_FANOUT_PULL_THRESHOLD": str(THRESHOLD)}
    with ExitStack() as stack:
        if request.param == "postgres":
            # A database of its own: the fan-out jobs must run on this
            # server, which holds the regional store the feed reads.
            cluster: ClusterState = request.getfixturevalue("pg_cluster")
            env.update(stack.enter_context(own_database_env(cluster, "pulled")))
        data_dir = tmp_path_factory.mktemp(f"pulled-{request.param}")
        proc = start_server(data_dir, env=env, workers=2)
        yield proc
        assert proc.stop() == 0, proc.log()


@pytest.fixture
def http(server: ServerProcess) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.base_url, timeout=30) as client:
        yield client


def _feed(http: httpx.Client, account: Account, limit: int = 100) -> list[str]:
    return ids(paginate(http, FEED, account, limit=limit))


def _fanned_out(data_dir: Path, user: Account, author: Account) -> int:
    """Rows of ``author`` in ``user``'s materialized timeline."""
    with sqlite3.connect(data_dir / "regions" / "local.db", timeout=10) as db:
        row = db.execute(
            "SELECT count(*) FROM timeline WHERE user_id = ? AND author_id = ?",
            (int(user.id), int(author.id)),
        ).fetchone()
    return int(row[0])


def test_posts_of_a_pulled_account_are_merged_at_read_time(
    http: httpx.Client, server: ServerProcess
) -> None:
    star, normal, reader = signup_user(http), signup_user(http), signup_user(http)
    for fan in [reader, *(signup_user(http) for _ in range(THRESHOLD))]:
        follow(http, fan, star.username)
    follow(http, reader, normal.username)

    posted: list[str] = []
    for _ in range(3):
        posted.append(post_media(http, star)["id"])
        posted.append(post_media(http, normal)["id"])
    newest_first = posted[::-1]

    eventually(lambda: _feed(http, reader) == newest_first, timeout=10)
    # The normal author was fanned out; the star was not.
    assert _fanned_out(server.data_dir, reader, normal) == 3
    assert _fanned_out(server.data_dir, reader, star) == 0
    # Pages of every size walk the merge exactly: nothing twice, nothing skipped.
    for limit in (1, 2, 4, 5):
        assert _feed(http, reader, limit) == newest_first, limit
    # The star reads their own posts in their own feed at once.
    assert _feed(http, star) == posted[-2::-2]


def test_pagination_across_the_merge_holds_while_items_change(
    http: httpx.Client, server: ServerProcess
) -> None:
    star, normal, reader = signup_user(http), signup_user(http), signup_user(http)
    for fan in [reader, *(signup_user(http) for _ in range(THRESHOLD))]:
        follow(http, fan, star.username)
    follow(http, reader, normal.username)
    s1, n1, s2, n2, s3, n3 = (post_media(http, who)["id"] for who in [star, normal] * 3)
    eventually(lambda: _feed(http, reader) == [n3, s3, n2, s2, n1, s1], timeout=10)

    first = get_page(http, FEED, reader, limit=2)
    assert ids(first["items"]) == [n3, s3]
    post_media(http, star)  # newer than the cursor: not on a later page
    post_media(http, normal)
    delete_media(http, star, s2)  # a pulled post, deleted between pages
    rest: list[str] = []
    cursor = first["next_cursor"]
    while cursor is not None:
        page = get_page(http, FEED, reader, limit=2, cursor=cursor)
        rest.extend(ids(page["items"]))
        cursor = page["next_cursor"]
    assert rest == [n2, n1, s1]


def test_follow_and_unfollow_of_a_pulled_account_show_at_once(
    http: httpx.Client, server: ServerProcess
) -> None:
    star = signup_user(http)
    for fan in [signup_user(http) for _ in range(THRESHOLD + 1)]:
        follow(http, fan, star.username)
    posts = [post_media(http, star)["id"] for _ in range(3)]

    newcomer = signup_user(http)
    assert _feed(http, newcomer) == []
    follow(http, newcomer, star.username)
    assert _feed(http, newcomer) == posts[::-1]  # read your own follow
    later = post_media(http, star)["id"]
    assert _feed(http, newcomer) == [later, *posts[::-1]]  # pulled: no fan-out to wait for
    unfollow(http, newcomer, star.username)
    assert _feed(http, newcomer) == []  # read your own unfollow
