from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import httpx

from tests.api.conftest import (
    API,
    Account,
    assert_activity,
    assert_error,
    comment,
    delete_media,
    eventually,
    follow,
    get_page,
    like,
    paginate,
    post_media,
    unfollow,
    unlike,
)

ACTIVITY = f"{API}/activity"


def activity(http: httpx.Client, account: Account) -> list[dict[str, Any]]:
    items = paginate(http, ACTIVITY, account, limit=100)
    for item in items:
        assert_activity(item)
    return items


def summary(items: list[dict[str, Any]]) -> list[tuple[str, str, str | None]]:
    return [(i["type"], i["actor"]["id"], i["media_id"]) for i in items]


def test_activity_requires_auth(http: httpx.Client) -> None:
    assert_error(http.get(ACTIVITY), 401, "unauthorized")


def test_new_user_has_no_activity(http: httpx.Client, signup: Callable[..., Account]) -> None:
    assert get_page(http, ACTIVITY, signup()) == {"items": [], "next_cursor": None}


def test_like_creates_activity(http: httpx.Client, signup: Callable[..., Account]) -> None:
    ana, bo = signup(), signup()
    media = post_media(http, ana)
    like(http, bo, media["id"])
    eventually(lambda: summary(activity(http, ana)) == [("like", bo.id, media["id"])])
    item = activity(http, ana)[0]
    assert item["actor"]["username"] == bo.username
    assert activity(http, bo) == []


def test_comment_creates_activity(http: httpx.Client, signup: Callable[..., Account]) -> None:
    ana, bo = signup(), signup()
    media = post_media(http, ana)
    comment(http, bo, media["id"], "lovely")
    eventually(lambda: summary(activity(http, ana)) == [("comment", bo.id, media["id"])])


def test_follow_creates_activity(http: httpx.Client, signup: Callable[..., Account]) -> None:
    ana, bo = signup(), signup()
    follow(http, bo, ana.username)
    eventually(lambda: summary(activity(http, ana)) == [("follow", bo.id, None)])
    assert activity(http, ana)[0]["media_id"] is None


def test_activity_is_newest_first(http: httpx.Client, signup: Callable[..., Account]) -> None:
    ana, bo, cy = signup(), signup(), signup()
    media = post_media(http, ana)
    follow(http, bo, ana.username)
    eventually(lambda: len(activity(http, ana)) == 1)
    like(http, cy, media["id"])
    eventually(lambda: len(activity(http, ana)) == 2)
    comment(http, bo, media["id"], "hey")
    expected = [
        ("comment", bo.id, media["id"]),
        ("like", cy.id, media["id"]),
        ("follow", bo.id, None),
    ]
    eventually(lambda: summary(activity(http, ana)) == expected)
    items = activity(http, ana)
    stamps = [datetime.fromisoformat(i["created_at"]) for i in items]
    assert stamps == sorted(stamps, reverse=True)


def test_liking_own_media_creates_no_activity(
    http: httpx.Client, signup: Callable[..., Account]
) -> None:
    ana, bo = signup(), signup()
    media = post_media(http, ana)
    like(http, ana, media["id"])
    follow(http, bo, ana.username)  # a marker queued after the self-like
    eventually(lambda: ("follow", bo.id, None) in summary(activity(http, ana)))
    assert summary(activity(http, ana)) == [("follow", bo.id, None)]


def test_unlike_removes_like_activity(http: httpx.Client, signup: Callable[..., Account]) -> None:
    ana, bo, cy = signup(), signup(), signup()
    media = post_media(http, ana)
    like(http, bo, media["id"])
    like(http, cy, media["id"])
    eventually(lambda: len(activity(http, ana)) == 2)
    unlike(http, bo, media["id"])
    eventually(lambda: summary(activity(http, ana)) == [("like", cy.id, media["id"])])


def test_relike_makes_one_item(http: httpx.Client, signup: Callable[..., Account]) -> None:
    ana, bo = signup(), signup()
    media = post_media(http, ana)
    like(http, bo, media["id"])
    like(http, bo, media["id"])
    unlike(http, bo, media["id"])
    like(http, bo, media["id"])
    eventually(lambda: summary(activity(http, ana)) == [("like", bo.id, media["id"])])


def test_unfollow_removes_follow_activity(
    http: httpx.Client, signup: Callable[..., Account]
) -> None:
    ana, bo = signup(), signup()
    follow(http, bo, ana.username)
    eventually(lambda: len(activity(http, ana)) == 1)
    unfollow(http, bo, ana.username)
    eventually(lambda: activity(http, ana) == [])


def test_comment_delete_removes_comment_activity(
    http: httpx.Client, signup: Callable[..., Account]
) -> None:
    ana, bo = signup(), signup()
    media = post_media(http, ana)
    comment(http, bo, media["id"], "keep")
    gone = comment(http, bo, media["id"], "gone")
    eventually(lambda: len(activity(http, ana)) == 2)
    assert http.delete(f"{API}/comments/{gone['id']}", headers=bo.headers).status_code == 204
    eventually(lambda: len(activity(http, ana)) == 1)
    assert summary(activity(http, ana)) == [("comment", bo.id, media["id"])]


def test_deleted_media_activity_disappears(
    http: httpx.Client, signup: Callable[..., Account]
) -> None:
    ana, bo = signup(), signup()
    kept = post_media(http, ana)
    gone = post_media(http, ana)
    follow(http, bo, ana.username)
    like(http, bo, gone["id"])
    comment(http, bo, gone["id"], "bye")
    like(http, bo, kept["id"])
    eventually(lambda: len(activity(http, ana)) == 4)
    delete_media(http, ana, gone["id"])
    expected = [("like", bo.id, kept["id"]), ("follow", bo.id, None)]
    eventually(lambda: summary(activity(http, ana)) == expected)


def test_activity_pages(http: httpx.Client, signup: Callable[..., Account]) -> None:
    ana = signup()
    fans = [signup() for _ in range(5)]
    for fan in fans:
        follow(http, fan, ana.username)
    expected = [("follow", f.id, None) for f in reversed(fans)]
    eventually(lambda: summary(activity(http, ana)) == expected)
    first = get_page(http, ACTIVITY, ana, limit=2)
    assert len(first["items"]) == 2 and first["next_cursor"]
    paged = paginate(http, ACTIVITY, ana, limit=2)
    assert summary(paged) == expected
    assert len({i["id"] for i in paged}) == 5
