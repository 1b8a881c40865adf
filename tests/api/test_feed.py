from __future__ import annotations

from collections.abc import Callable

import httpx

from tests.api.conftest import (
    API,
    Account,
    assert_error,
    assert_media,
    delete_media,
    eventually,
    follow,
    fresh_get,
    get_me,
    get_page,
    ids,
    like,
    paginate,
    post_media,
    unfollow,
)
from tests.support.server import ServerProcess

FEED = f"{API}/feed"


def feed_ids(http: httpx.Client, account: Account) -> list[str]:
    return ids(paginate(http, FEED, account, limit=100))


def test_feed_requires_auth(http: httpx.Client) -> None:
    assert_error(http.get(FEED), 401, "unauthorized")


def test_new_user_feed_is_empty(http: httpx.Client, signup: Callable[..., Account]) -> None:
    ana = signup()
    assert get_page(http, FEED, ana) == {"items": [], "next_cursor": None}


def test_own_post_is_in_own_feed_at_once(
    http: httpx.Client, server: ServerProcess, signup: Callable[..., Account]
) -> None:
    ana = signup()
    first = post_media(http, ana, caption="first")
    for reply in fresh_get(server.base_url, FEED, ana.headers):
        assert ids(reply.json()["items"]) == [first["id"]]
    second = post_media(http, ana, caption="second")
    for reply in fresh_get(server.base_url, FEED, ana.headers):
        items = reply.json()["items"]
        assert ids(items) == [second["id"], first["id"]]
        for item in items:
            assert_media(item, ana)


def test_followed_users_post_arrives_eventually(
    http: httpx.Client, signup: Callable[..., Account]
) -> None:
    ana, bo, stranger = signup(), signup(), signup()
    follow(http, ana, bo.username)
    assert feed_ids(http, ana) == []  # may warm a cache
    unseen = post_media(http, stranger, caption="not followed")
    media = post_media(http, bo, caption="followed")

    eventually(lambda: _assert_in_feed(http, ana, media["id"]))
    items = paginate(http, FEED, ana)
    assert unseen["id"] not in ids(items)
    item = next(i for i in items if i["id"] == media["id"])
    assert_media(item, bo)
    assert item["caption"] == "followed"


def _assert_in_feed(http: httpx.Client, account: Account, media_id: str) -> None:
    assert media_id in feed_ids(http, account)


def _assert_not_in_feed(http: httpx.Client, account: Account, media_id: str) -> None:
    assert media_id not in feed_ids(http, account)


def test_feed_is_newest_first_across_authors(
    http: httpx.Client, signup: Callable[..., Account]
) -> None:
    ana, bo, cy = signup(), signup(), signup()
    follow(http, ana, bo.username)
    follow(http, ana, cy.username)
    posted = [
        post_media(http, bo),
        post_media(http, ana),
        post_media(http, cy),
        post_media(http, bo),
    ]
    expected = [m["id"] for m in reversed(posted)]
    eventually(lambda: feed_ids(http, ana) == expected)


def test_following_brings_existing_posts_at_once(
    http: httpx.Client, signup: Callable[..., Account]
) -> None:
    ana, bo = signup(), signup()
    older = post_media(http, bo)
    newer = post_media(http, bo)
    mine = post_media(http, ana)
    assert feed_ids(http, ana) == [mine["id"]]
    follow(http, ana, bo.username)
    assert feed_ids(http, ana) == [mine["id"], newer["id"], older["id"]]


def test_unfollow_removes_posts_from_feed(
    http: httpx.Client, signup: Callable[..., Account]
) -> None:
    ana, bo = signup(), signup()
    theirs = post_media(http, bo)
    mine = post_media(http, ana)
    follow(http, ana, bo.username)
    assert feed_ids(http, ana) == [mine["id"], theirs["id"]]
    unfollow(http, ana, bo.username)
    assert feed_ids(http, ana) == [mine["id"]]
    # And it stays gone (no flapping back from a stale cache).
    for _ in range(5):
        assert feed_ids(http, ana) == [mine["id"]]


def test_deleted_media_leaves_every_feed(
    http: httpx.Client, signup: Callable[..., Account]
) -> None:
    owner = signup()
    followers = [signup() for _ in range(3)]
    for fan in followers:
        follow(http, fan, owner.username)
    keep = post_media(http, owner, caption="keep")
    gone = post_media(http, owner, caption="gone")
    for fan in followers:
        eventually(lambda fan=fan: _assert_in_feed(http, fan, gone["id"]))
    like(http, followers[0], gone["id"])

    delete_media(http, owner, gone["id"])
    assert feed_ids(http, owner) == [keep["id"]]
    assert get_me(http, owner)["media_count"] == 1
    for fan in followers:
        eventually(lambda fan=fan: _assert_not_in_feed(http, fan, gone["id"]))
        assert keep["id"] in feed_ids(http, fan)


def test_feed_items_carry_liked_by_me(http: httpx.Client, signup: Callable[..., Account]) -> None:
    ana, bo = signup(), signup()
    follow(http, ana, bo.username)
    liked = post_media(http, bo)
    other = post_media(http, bo)
    eventually(lambda: _assert_in_feed(http, ana, liked["id"]))
    eventually(lambda: _assert_in_feed(http, ana, other["id"]))
    like(http, ana, liked["id"])
    items = {i["id"]: i for i in paginate(http, FEED, ana)}
    assert items[liked["id"]]["liked_by_me"] is True
    assert items[liked["id"]]["like_count"] == 1
    assert items[other["id"]]["liked_by_me"] is False


def test_feeds_are_private(http: httpx.Client, signup: Callable[..., Account]) -> None:
    ana, bo = signup(), signup()
    mine = post_media(http, ana)
    theirs = post_media(http, bo)
    assert feed_ids(http, ana) == [mine["id"]]
    assert feed_ids(http, bo) == [theirs["id"]]
