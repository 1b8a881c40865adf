from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from tests.api.conftest import (
    API,
    Account,
    assert_error,
    assert_user,
    eventually,
    fresh_get,
    get_me,
    get_user,
    unique_username,
)
from tests.support.server import ServerProcess


def patch_me(http: httpx.Client, account: Account, body: Any) -> httpx.Response:
    return http.patch(f"{API}/me", headers=account.headers, json=body)


def test_me_returns_own_user(http: httpx.Client, signup: Callable[..., Account]) -> None:
    account = signup(full_name="Me Myself")
    me = get_me(http, account)
    assert_user(me, authenticated=True)
    assert me["id"] == account.id
    assert me["username"] == account.username
    assert me["full_name"] == "Me Myself"
    assert me["followed_by_me"] is False


def test_get_user_anonymous_has_no_followed_by_me(
    http: httpx.Client, signup: Callable[..., Account]
) -> None:
    account = signup()
    user = get_user(http, account.username)
    assert_user(user, authenticated=False)
    assert user["id"] == account.id


def test_get_user_authenticated_has_followed_by_me(
    http: httpx.Client, signup: Callable[..., Account]
) -> None:
    ana, bo = signup(), signup()
    user = get_user(http, bo.username, ana)
    assert_user(user, authenticated=True)
    assert user["followed_by_me"] is False


def test_unknown_user_is_404(http: httpx.Client) -> None:
    assert_error(http.get(f"{API}/users/{unique_username()}"), 404, "not_found")


@pytest.mark.parametrize("name", ["no-such-user!", "%00", "a" * 200, "ü", "UNKNOWN" + "x" * 20])
def test_odd_usernames_in_path_are_404(http: httpx.Client, name: str) -> None:
    assert_error(http.get(f"{API}/users/{name}"), 404, "not_found")


def test_patch_me_updates_full_name_and_bio(
    http: httpx.Client, server: ServerProcess, signup: Callable[..., Account]
) -> None:
    account = signup(full_name="Old Name")
    response = patch_me(http, account, {"full_name": "New Name", "bio": "hello 🌅 world"})
    assert response.status_code == 200, response.text
    user = response.json()
    assert_user(user)
    assert (user["full_name"], user["bio"]) == ("New Name", "hello 🌅 world")
    # Read your own writes, whichever worker answers.
    for reply in fresh_get(server.base_url, f"{API}/me", account.headers):
        assert reply.status_code == 200
        assert (reply.json()["full_name"], reply.json()["bio"]) == ("New Name", "hello 🌅 world")

    def anonymous_sees_it() -> None:
        public = get_user(http, account.username)
        assert (public["full_name"], public["bio"]) == ("New Name", "hello 🌅 world")

    eventually(anonymous_sees_it)


def test_patch_me_is_partial(http: httpx.Client, signup: Callable[..., Account]) -> None:
    account = signup(full_name="Keep Me")
    response = patch_me(http, account, {"bio": "only bio"})
    assert response.status_code == 200, response.text
    assert response.json()["full_name"] == "Keep Me"
    assert response.json()["bio"] == "only bio"
    response = patch_me(http, account, {"full_name": "Changed"})
    assert response.status_code == 200, response.text
    assert response.json()["bio"] == "only bio"
    assert get_me(http, account)["full_name"] == "Changed"


def test_patch_me_empty_object_changes_nothing(
    http: httpx.Client, signup: Callable[..., Account]
) -> None:
    account = signup(full_name="Same")
    response = patch_me(http, account, {})
    assert response.status_code == 200, response.text
    assert response.json()["full_name"] == "Same"


def test_patch_me_can_clear_bio(http: httpx.Client, signup: Callable[..., Account]) -> None:
    account = signup()
    assert patch_me(http, account, {"bio": "something"}).status_code == 200
    response = patch_me(http, account, {"bio": ""})
    assert response.status_code == 200, response.text
    assert get_me(http, account)["bio"] == ""


def test_bio_length_limit_counts_characters(
    http: httpx.Client, signup: Callable[..., Account]
) -> None:
    account = signup()
    ok = patch_me(http, account, {"bio": "é" * 150})
    assert ok.status_code == 200, ok.text
    assert ok.json()["bio"] == "é" * 150
    assert_error(patch_me(http, account, {"bio": "b" * 151}), 422, "validation_failed")
    assert get_me(http, account)["bio"] == "é" * 150


def test_full_name_limit_on_patch(http: httpx.Client, signup: Callable[..., Account]) -> None:
    account = signup()
    assert patch_me(http, account, {"full_name": "n" * 64}).status_code == 200
    assert_error(patch_me(http, account, {"full_name": "n" * 65}), 422, "validation_failed")
    assert get_me(http, account)["full_name"] == "n" * 64


@pytest.mark.parametrize(
    "body",
    [
        {"username": "renamed"},
        {"bio": "x", "website": "http://example.com"},
        {"follower_count": 1000},
        {"bio": 5},
        {"bio": None},
        {"full_name": ["a"]},
        [],
        "bio",
    ],
    ids=lambda body: repr(body)[:40],
)
def test_patch_me_bad_body_is_400(
    http: httpx.Client, signup: Callable[..., Account], body: Any
) -> None:
    account = signup(full_name="Untouched")
    assert_error(patch_me(http, account, body), 400, "invalid_request")
    me = get_me(http, account)
    assert me["full_name"] == "Untouched"
    assert me["username"] == account.username
    assert me["follower_count"] == 0


def test_patch_me_malformed_json_is_400(http: httpx.Client, signup: Callable[..., Account]) -> None:
    account = signup()
    response = http.patch(
        f"{API}/me",
        headers={**account.headers, "Content-Type": "application/json"},
        content=b'{"bio": "unterminated',
    )
    assert_error(response, 400, "invalid_request")


def test_patch_me_without_token_is_401(http: httpx.Client) -> None:
    assert_error(http.patch(f"{API}/me", json={"bio": "x"}), 401, "unauthorized")


def test_patch_me_only_changes_caller(http: httpx.Client, signup: Callable[..., Account]) -> None:
    ana, bo = signup(full_name="Ana"), signup(full_name="Bo")
    assert patch_me(http, ana, {"full_name": "Ana Changed"}).status_code == 200
    assert get_me(http, bo)["full_name"] == "Bo"
