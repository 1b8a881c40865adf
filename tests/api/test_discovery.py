"""User search and suggested accounts (api.md, additions)."""

from __future__ import annotations

from collections.abc import Callable
from uuid import uuid4

import httpx
import pytest

from tests.api.conftest import (
    API,
    Account,
    assert_error,
    assert_user,
    follow,
    get_json,
    get_page,
    unfollow,
)


def _search(http: httpx.Client, q: str, who: Account | None = None, **params: object) -> list[str]:
    page = get_json(http, f"{API}/search/users", who, q=q, **params)
    for user in page["items"]:
        assert_user(user, authenticated=who is not None)
    return [u["username"] for u in page["items"]]


def test_search_matches_username_and_name_word_prefixes_case_insensitively(
    http: httpx.Client, signup: Callable[..., Account]
) -> None:
    tag = uuid4().hex[:8]
    ana = signup(username=f"s{tag}ana", full_name=f"Ana Q{tag}Lima")
    bo = signup(username=f"s{tag}bo", full_name="Bo")
    cy = signup(username=f"zz{tag}", full_name=f"Cy S{tag}Xu")
    assert set(_search(http, f"S{tag}")) == {ana.username, bo.username, cy.username}
    assert _search(http, f"q{tag}li") == [ana.username]
    assert _search(http, f"s{tag}b") == [bo.username]
    assert _search(http, f"nomatch{tag}") == []
    # A word must start with q: the middle of a name does not match.
    assert _search(http, f"{tag}lima") == []


def test_exact_username_first_then_by_follower_count(
    http: httpx.Client, signup: Callable[..., Account]
) -> None:
    tag = "r" + uuid4().hex[:8]
    exact = signup(username=tag)
    popular = signup(username=f"{tag}pop")
    middling = signup(username=f"{tag}mid")
    quiet = signup(username=f"{tag}zzz")
    fans = [signup() for _ in range(3)]
    for fan in fans:
        follow(http, fan, popular.username)
    follow(http, fans[0], middling.username)
    assert _search(http, tag) == [
        exact.username,
        popular.username,
        middling.username,
        quiet.username,
    ]


def test_search_pages_without_repeats(http: httpx.Client, signup: Callable[..., Account]) -> None:
    tag = "p" + uuid4().hex[:8]
    names = {signup(username=f"{tag}{i}").username for i in range(7)}
    seen: list[str] = []
    cursor = None
    for _ in range(5):
        params = {"q": tag, "limit": 3, **({"cursor": cursor} if cursor else {})}
        page = get_json(http, f"{API}/search/users", **params)
        seen += [u["username"] for u in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert sorted(seen) == sorted(names)


@pytest.mark.parametrize("q", ["", "x" * 31])
def test_a_query_out_of_range_is_422(http: httpx.Client, q: str) -> None:
    assert_error(http.get(f"{API}/search/users", params={"q": q}), 422, "validation_failed")


def test_bad_search_parameters_are_400(http: httpx.Client) -> None:
    assert_error(http.get(f"{API}/search/users"), 400, "invalid_request")
    assert_error(http.get(f"{API}/search/users", params={"q": "a\x00"}), 400, "invalid_request")
    assert_error(http.get(f"{API}/search/users", params={"q": "a", "limit": 0}), 400)
    assert_error(http.get(f"{API}/search/users", params={"q": "a", "cursor": "bogus"}), 400)


def test_suggestions_rank_by_shared_followings_then_followers(
    http: httpx.Client, signup: Callable[..., Account]
) -> None:
    me, f1, f2 = signup(), signup(), signup()
    both, one, mine = signup(), signup(), signup()
    for friend in (f1, f2):
        follow(http, me, friend.username)
        follow(http, friend, both.username)
        follow(http, friend, mine.username)
    follow(http, f1, one.username)
    follow(http, me, mine.username)
    follow(http, f1, me.username)  # my follower, not someone I follow
    page = get_json(http, f"{API}/me/suggestions", me)
    assert set(page) == {"items", "next_cursor"} and page["next_cursor"] is None
    usernames = [u["username"] for u in page["items"]]
    assert usernames[:2] == [both.username, one.username], usernames
    for user in page["items"]:
        assert_user(user, authenticated=True)
        assert user["followed_by_me"] is False
    assert me.username not in usernames and mine.username not in usernames
    assert f1.username not in usernames and f2.username not in usernames
    # Following a suggestion takes it off at once; unfollowing brings it back.
    follow(http, me, both.username)
    after = [u["username"] for u in get_json(http, f"{API}/me/suggestions", me)["items"]]
    assert both.username not in after and after[0] == one.username
    unfollow(http, me, both.username)


def test_suggestions_for_a_new_account_are_the_most_followed(
    http: httpx.Client, signup: Callable[..., Account]
) -> None:
    me = signup()
    items = get_json(http, f"{API}/me/suggestions", me, limit=5)["items"]
    assert len(items) <= 5
    counts = [u["follower_count"] for u in items]
    assert counts == sorted(counts, reverse=True)
    assert me.id not in [u["id"] for u in items]


def test_bad_suggestion_requests(http: httpx.Client, signup: Callable[..., Account]) -> None:
    me = signup()
    assert_error(http.get(f"{API}/me/suggestions"), 401)
    for limit in ("0", "51", "x", "-1", "1.5"):
        response = http.get(f"{API}/me/suggestions", headers=me.headers, params={"limit": limit})
        assert_error(response, 400, "invalid_request")
    assert len(get_page(http, f"{API}/me/suggestions", me, limit=50)["items"]) <= 50
