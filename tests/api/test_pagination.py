from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from tests.api.conftest import (
    API,
    Account,
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

Signup = Callable[..., Account]


def _item_id(item: dict[str, Any]) -> str:
    key: str = item["id"]
    return key


@dataclass
class Lister:
    """One list endpoint plus a way to add and remove its items."""

    path: str
    viewer: Account | None
    create: Callable[[], str]
    delete: Callable[[str], None]
    newest_first: bool = True
    eventual: bool = False  # the viewer is not the writer, so changes may show late
    key: Callable[[dict[str, Any]], str] = field(default=_item_id)

    def keys(self, http: httpx.Client, limit: int = 100) -> list[str]:
        return [self.key(item) for item in paginate(http, self.path, self.viewer, limit=limit)]

    def expected(self, created: list[str]) -> list[str]:
        return list(reversed(created)) if self.newest_first else list(created)


def _user_media(http: httpx.Client, signup: Signup) -> Lister:
    owner = signup()
    return Lister(
        f"{API}/users/{owner.username}/media",
        owner,
        create=lambda: post_media(http, owner)["id"],
        delete=lambda key: delete_media(http, owner, key),
    )


def _comments(http: httpx.Client, signup: Signup) -> Lister:
    owner = signup()
    media = post_media(http, owner)

    def delete(key: str) -> None:
        response = http.delete(f"{API}/comments/{key}", headers=owner.headers)
        assert response.status_code == 204, response.text

    return Lister(
        f"{API}/media/{media['id']}/comments",
        owner,
        create=lambda: comment(http, owner, media["id"], "page me")["id"],
        delete=delete,
        newest_first=False,
    )


def _followers(http: httpx.Client, signup: Signup) -> Lister:
    target = signup()
    fans: dict[str, Account] = {}

    def create() -> str:
        fan = signup()
        follow(http, fan, target.username)
        fans[fan.id] = fan
        return fan.id

    def delete(key: str) -> None:
        unfollow(http, fans[key], target.username)

    return Lister(f"{API}/users/{target.username}/followers", None, create, delete, eventual=True)


def _following(http: httpx.Client, signup: Signup) -> Lister:
    me = signup()
    idols: dict[str, Account] = {}

    def create() -> str:
        idol = signup()
        follow(http, me, idol.username)
        idols[idol.id] = idol
        return idol.id

    def delete(key: str) -> None:
        unfollow(http, me, idols[key].username)

    return Lister(f"{API}/users/{me.username}/following", me, create, delete)


def _likers(http: httpx.Client, signup: Signup) -> Lister:
    owner = signup()
    media = post_media(http, owner)
    fans: dict[str, Account] = {}

    def create() -> str:
        fan = signup()
        like(http, fan, media["id"])
        fans[fan.id] = fan
        return fan.id

    def delete(key: str) -> None:
        unlike(http, fans[key], media["id"])

    return Lister(f"{API}/media/{media['id']}/likers", owner, create, delete, eventual=True)


def _feed(http: httpx.Client, signup: Signup) -> Lister:
    me = signup()
    return Lister(
        f"{API}/feed",
        me,
        create=lambda: post_media(http, me)["id"],
        delete=lambda key: delete_media(http, me, key),
    )


def _activity(http: httpx.Client, signup: Signup) -> Lister:
    me = signup()
    fans: dict[str, Account] = {}

    def create() -> str:
        fan = signup()
        follow(http, fan, me.username)
        fans[fan.id] = fan
        return fan.id

    def delete(key: str) -> None:
        unfollow(http, fans[key], me.username)

    def actor(item: dict[str, Any]) -> str:
        assert item["type"] == "follow", item
        return str(item["actor"]["id"])

    return Lister(f"{API}/activity", me, create, delete, eventual=True, key=actor)


KINDS: dict[str, Callable[[httpx.Client, Signup], Lister]] = {
    "user_media": _user_media,
    "comments": _comments,
    "followers": _followers,
    "following": _following,
    "likers": _likers,
    "feed": _feed,
    "activity": _activity,
}


@pytest.fixture(params=sorted(KINDS))
def lister(request: pytest.FixtureRequest, http: httpx.Client, signup: Signup) -> Lister:
    return KINDS[request.param](http, signup)


def _populate(http: httpx.Client, lister: Lister, count: int) -> list[str]:
    created = [lister.create() for _ in range(count)]
    expected = lister.expected(created)
    if lister.eventual:
        eventually(lambda: lister.keys(http) == expected)
    else:
        assert lister.keys(http) == expected
    return created


def test_pages_partition_the_list(http: httpx.Client, lister: Lister) -> None:
    expected = lister.expected(_populate(http, lister, 7))
    pages = []
    cursor: str | None = None
    while True:
        page = get_page(http, lister.path, lister.viewer, limit=3, cursor=cursor)
        pages.append([lister.key(item) for item in page["items"]])
        cursor = page["next_cursor"]
        if cursor is None:
            break
        assert len(pages) < 5, pages
    assert [len(p) for p in pages] == [3, 3, 1]
    assert [k for p in pages for k in p] == expected

    first = get_page(http, lister.path, lister.viewer, limit=1)
    assert [lister.key(i) for i in first["items"]] == expected[:1]
    assert first["next_cursor"] is not None
    whole = get_page(http, lister.path, lister.viewer, limit=100)
    assert [lister.key(i) for i in whole["items"]] == expected
    assert whole["next_cursor"] is None
    default = get_page(http, lister.path, lister.viewer)
    assert [lister.key(i) for i in default["items"]] == expected
    assert default["next_cursor"] is None


def _tampered(cursor: str) -> str:
    middle = len(cursor) // 2
    replacement = "A" if cursor[middle] != "A" else "B"
    return cursor[:middle] + replacement + cursor[middle + 1 :]


@pytest.mark.parametrize("bad", ["0", "-1", "101", "1000", "abc", "1.5", "", "2e1", "0x10"])
def test_bad_limit_is_400(http: httpx.Client, lister: Lister, bad: str) -> None:
    headers = lister.viewer.headers if lister.viewer else {}
    response = http.get(lister.path, params={"limit": bad}, headers=headers)
    assert_error(response, 400, "invalid_request")


def test_bad_cursors_are_400(http: httpx.Client, lister: Lister) -> None:
    _populate(http, lister, 2)
    real = get_page(http, lister.path, lister.viewer, limit=1)["next_cursor"]
    assert isinstance(real, str)
    headers = lister.viewer.headers if lister.viewer else {}
    for bad in ["garbage", "!!!", "%%%", "A" * 2000, _tampered(real), real + "x", real[:-3]]:
        response = http.get(lister.path, params={"limit": 1, "cursor": bad}, headers=headers)
        assert_error(response, 400, "invalid_cursor")


@pytest.mark.parametrize(
    ("source", "target"),
    [
        ("followers", "comments"),
        ("comments", "feed"),
        ("feed", "activity"),
        ("likers", "user_media"),
        ("activity", "following"),
    ],
)
def test_cursor_of_another_list_kind_is_400(
    http: httpx.Client, signup: Signup, source: str, target: str
) -> None:
    origin = KINDS[source](http, signup)
    _populate(http, origin, 2)
    cursor = get_page(http, origin.path, origin.viewer, limit=1)["next_cursor"]
    assert isinstance(cursor, str)
    other = KINDS[target](http, signup)
    _populate(http, other, 2)
    headers = other.viewer.headers if other.viewer else {}
    response = http.get(other.path, params={"limit": 1, "cursor": cursor}, headers=headers)
    assert_error(response, 400, "invalid_cursor")


def test_default_limit_is_20(http: httpx.Client, signup: Signup) -> None:
    comments = _comments(http, signup)
    created = [comments.create() for _ in range(21)]
    first = get_page(http, comments.path, comments.viewer)
    assert [i["id"] for i in first["items"]] == created[:20]
    assert first["next_cursor"] is not None
    second = get_page(http, comments.path, comments.viewer, cursor=first["next_cursor"])
    assert [i["id"] for i in second["items"]] == created[20:]
    assert second["next_cursor"] is None


def test_cursors_are_stable_under_concurrent_writes(http: httpx.Client, lister: Lister) -> None:
    initial = _populate(http, lister, 10)
    expected = lister.expected(initial)
    seen: list[str] = []
    deleted: set[str] = set()
    deleted_unseen: set[str] = set()
    page = get_page(http, lister.path, lister.viewer, limit=3)
    for _ in range(20):
        seen.extend(lister.key(item) for item in page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            break
        # Between pages: add two items, delete the last item seen (the cursor's
        # anchor) and the next initial item not yet seen.
        lister.create()
        lister.create()
        anchor = next((k for k in reversed(seen) if k in initial and k not in deleted), None)
        ahead = next((k for k in expected if k not in seen and k not in deleted), None)
        for key in (anchor, ahead):
            if key is not None:
                lister.delete(key)
                deleted.add(key)
        if ahead is not None:
            deleted_unseen.add(ahead)
        page = get_page(http, lister.path, lister.viewer, limit=3, cursor=cursor)
    else:
        raise AssertionError(f"pagination did not end: {seen}")

    assert len(seen) == len(set(seen)), f"an item was returned twice: {seen}"
    survivors = [k for k in expected if k not in deleted]
    missing = [k for k in survivors if k not in seen]
    assert not missing, f"skipped {missing}; seen {seen}"
    assert [k for k in seen if k in survivors] == survivors, "initial items out of order"
    if not lister.eventual:
        assert not deleted_unseen & set(seen), "a deleted item was still returned"
