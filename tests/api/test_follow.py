from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import httpx

from tests.api.conftest import (
    API,
    Account,
    api_client,
    assert_error,
    assert_user,
    eventually,
    follow,
    get_me,
    get_user,
    ids,
    paginate,
    signup_user,
    unfollow,
    unique_username,
)
from tests.support.server import ServerProcess


def test_follow_returns_followed_user(http: httpx.Client, signup: Callable[..., Account]) -> None:
    ana, bo = signup(), signup()
    user = follow(http, ana, bo.username)
    assert_user(user, authenticated=True)
    assert user["id"] == bo.id
    assert user["followed_by_me"] is True
    assert user["follower_count"] == 1
    assert get_me(http, ana)["following_count"] == 1
    assert get_user(http, bo.username, ana)["followed_by_me"] is True


def test_follow_is_idempotent(http: httpx.Client, signup: Callable[..., Account]) -> None:
    ana, bo = signup(), signup()
    follow(http, ana, bo.username)
    again = follow(http, ana, bo.username)
    assert again["follower_count"] == 1
    assert again["followed_by_me"] is True
    assert get_me(http, ana)["following_count"] == 1
    assert ids(paginate(http, f"{API}/users/{bo.username}/followers", ana)) == [ana.id]


def test_unfollow_returns_user_and_is_idempotent(
    http: httpx.Client, signup: Callable[..., Account]
) -> None:
    ana, bo = signup(), signup()
    follow(http, ana, bo.username)
    user = unfollow(http, ana, bo.username)
    assert_user(user, authenticated=True)
    assert user["id"] == bo.id
    assert user["followed_by_me"] is False
    assert user["follower_count"] == 0
    again = unfollow(http, ana, bo.username)
    assert again["follower_count"] == 0
    assert again["followed_by_me"] is False
    assert get_me(http, ana)["following_count"] == 0
    assert get_user(http, bo.username, ana)["followed_by_me"] is False
    assert paginate(http, f"{API}/users/{bo.username}/followers", ana) == []
    assert paginate(http, f"{API}/users/{ana.username}/following", ana) == []


def test_unfollow_never_followed_is_fine(
    http: httpx.Client, signup: Callable[..., Account]
) -> None:
    ana, bo = signup(), signup()
    user = unfollow(http, ana, bo.username)
    assert user["follower_count"] == 0 and user["followed_by_me"] is False
    assert get_me(http, ana)["following_count"] == 0


def test_follow_by_mixed_case_username(http: httpx.Client, signup: Callable[..., Account]) -> None:
    ana, bo = signup(), signup()
    user = follow(http, ana, bo.username.upper())
    assert user["id"] == bo.id
    assert get_user(http, bo.username, ana)["follower_count"] == 1


def test_self_follow_is_409(http: httpx.Client, signup: Callable[..., Account]) -> None:
    ana = signup()
    response = http.put(f"{API}/users/{ana.username}/follow", headers=ana.headers)
    assert_error(response, 409, "conflict")
    me = get_me(http, ana)
    assert (me["follower_count"], me["following_count"]) == (0, 0)


def test_follow_unknown_user_is_404(http: httpx.Client, signup: Callable[..., Account]) -> None:
    ana = signup()
    name = unique_username()
    assert_error(http.put(f"{API}/users/{name}/follow", headers=ana.headers), 404, "not_found")
    assert_error(http.delete(f"{API}/users/{name}/follow", headers=ana.headers), 404, "not_found")
    assert get_me(http, ana)["following_count"] == 0


def test_follow_without_token_is_401(http: httpx.Client, signup: Callable[..., Account]) -> None:
    bo = signup()
    assert_error(http.put(f"{API}/users/{bo.username}/follow"), 401, "unauthorized")
    assert_error(http.delete(f"{API}/users/{bo.username}/follow"), 401, "unauthorized")
    assert get_user(http, bo.username)["follower_count"] == 0


def test_followers_and_following_lists_newest_first(
    http: httpx.Client, signup: Callable[..., Account]
) -> None:
    ana = signup()
    others = [signup() for _ in range(3)]
    for other in others:
        follow(http, ana, other.username)
    for other in others:
        follow(http, other, ana.username)

    following = paginate(http, f"{API}/users/{ana.username}/following", ana)
    assert ids(following) == [o.id for o in reversed(others)]
    for user in following:
        assert_user(user, authenticated=True)

    def followers_listed() -> None:
        followers = paginate(http, f"{API}/users/{ana.username}/followers")
        assert ids(followers) == [o.id for o in reversed(others)]
        for user in followers:
            assert_user(user, authenticated=False)

    eventually(followers_listed)

    eventually(lambda: _assert_counts(http, ana, 3, 3))

    def others_counts() -> None:
        for other in others:
            user = get_user(http, other.username)
            assert (user["follower_count"], user["following_count"]) == (1, 1)

    eventually(others_counts)


def test_follow_lists_show_followed_by_me_for_viewer(
    http: httpx.Client, signup: Callable[..., Account]
) -> None:
    target, viewer, followed, not_followed = signup(), signup(), signup(), signup()
    follow(http, followed, target.username)
    follow(http, not_followed, target.username)
    follow(http, viewer, followed.username)

    def flags_shown() -> None:
        items = paginate(http, f"{API}/users/{target.username}/followers", viewer)
        flags = {item["id"]: item["followed_by_me"] for item in items}
        assert flags == {followed.id: True, not_followed.id: False}

    eventually(flags_shown)


def test_follow_lists_of_unknown_user_are_404(http: httpx.Client) -> None:
    name = unique_username()
    assert_error(http.get(f"{API}/users/{name}/followers"), 404, "not_found")
    assert_error(http.get(f"{API}/users/{name}/following"), 404, "not_found")


def test_counts_seen_by_others_eventually(
    http: httpx.Client, signup: Callable[..., Account]
) -> None:
    ana, bo, cy = signup(), signup(), signup()
    assert get_user(http, bo.username, cy)["follower_count"] == 0  # may warm a cache
    follow(http, ana, bo.username)
    eventually(lambda: _assert_follower_count(http, bo.username, cy, 1))
    unfollow(http, ana, bo.username)
    eventually(lambda: _assert_follower_count(http, bo.username, cy, 0))


def _assert_counts(http: httpx.Client, account: Account, followers: int, following: int) -> None:
    me = get_me(http, account)
    assert (me["follower_count"], me["following_count"]) == (followers, following)


def _assert_follower_count(
    http: httpx.Client, username: str, viewer: Account | None, count: int
) -> None:
    assert get_user(http, username, viewer)["follower_count"] == count


def test_concurrent_follows_count_exactly(
    http: httpx.Client, server: ServerProcess, signup: Callable[..., Account]
) -> None:
    target = signup()

    def follow_target(_: int) -> str:
        with api_client(server.base_url) as client:
            fan = signup_user(client)
            follow(client, fan, target.username)
            follow(client, fan, target.username)
            return fan.id

    with ThreadPoolExecutor(20) as pool:
        fans = set(pool.map(follow_target, range(20)))

    def settled() -> None:
        assert get_user(http, target.username)["follower_count"] == 20

    eventually(settled)

    def listed() -> None:
        followers = ids(paginate(http, f"{API}/users/{target.username}/followers", limit=7))
        assert len(followers) == 20 and set(followers) == fans

    eventually(listed)
    assert get_me(http, target)["follower_count"] == 20
