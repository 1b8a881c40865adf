"""The unread count and the seen mark (api.md, additions)."""

from __future__ import annotations

from collections.abc import Callable

import httpx

from tests.api.conftest import (
    API,
    Account,
    assert_error,
    eventually,
    follow,
    get_json,
    like,
    post_media,
)


def _unread(http: httpx.Client, who: Account) -> int:
    body = get_json(http, f"{API}/activity/unread", who)
    assert set(body) == {"count"} and type(body["count"]) is int
    count: int = body["count"]
    return count


def _seen(http: httpx.Client, who: Account, up_to: object) -> httpx.Response:
    return http.put(f"{API}/activity/seen", headers=who.headers, json={"up_to": up_to})


def test_unread_counts_items_newer_than_the_mark_which_only_moves_forward(
    http: httpx.Client, signup: Callable[..., Account]
) -> None:
    ana = signup()
    assert _unread(http, ana) == 0
    fans = [signup() for _ in range(3)]
    for fan in fans:
        follow(http, fan, ana.username)
    eventually(lambda: _unread(http, ana) == 3)
    items = get_json(http, f"{API}/activity", ana)["items"]
    newest, middle, oldest = (item["id"] for item in items)
    assert _seen(http, ana, middle).status_code == 204
    assert _unread(http, ana) == 1
    assert _seen(http, ana, oldest).status_code == 204  # older: accepted, no change
    assert _unread(http, ana) == 1
    assert _seen(http, ana, newest).status_code == 204
    assert _unread(http, ana) == 0
    media = post_media(http, ana)
    like(http, fans[0], media["id"])
    eventually(lambda: _unread(http, ana) == 1)


def test_seen_mark_refuses_other_users_items_and_bad_bodies(
    http: httpx.Client, signup: Callable[..., Account]
) -> None:
    ana, bo = signup(), signup()
    follow(http, bo, ana.username)
    eventually(lambda: _unread(http, ana) == 1)
    ana_item = get_json(http, f"{API}/activity", ana)["items"][0]["id"]
    assert_error(_seen(http, bo, ana_item), 404, "not_found")
    assert_error(_seen(http, ana, "123"), 404, "not_found")
    assert_error(_seen(http, ana, str(2**63)), 404, "not_found")
    for malformed in ("99999999999999999999", "abc", "", "-1"):
        assert_error(_seen(http, ana, malformed), 422, "validation_failed")
    for body in ({}, {"up_to": 5}, {"up_to": ana_item, "x": 1}):
        response = http.put(f"{API}/activity/seen", headers=ana.headers, json=body)
        assert_error(response, 400, "invalid_request")
    assert_error(http.put(f"{API}/activity/seen", json={"up_to": ana_item}), 401)
    assert_error(http.get(f"{API}/activity/unread"), 401)
    assert _unread(http, ana) == 1
