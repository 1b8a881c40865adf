from __future__ import annotations

import string
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from uuid import uuid4

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.api.conftest import (
    API,
    PASSWORD,
    Account,
    api_client,
    assert_error,
    assert_user,
    get_me,
    get_user,
    unique_username,
)
from tests.support.server import ServerProcess

ALLOWED = set(string.ascii_lowercase + string.digits + "._")


def post_account(http: httpx.Client, body: Any) -> httpx.Response:
    return http.post(f"{API}/accounts", json=body)


def test_signup_returns_user_and_working_token(http: httpx.Client) -> None:
    username = unique_username()
    response = post_account(
        http, {"username": username, "password": PASSWORD, "full_name": "Ana Lima"}
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert set(body) == {"user", "token"}
    assert isinstance(body["token"], str) and len(body["token"]) >= 16
    user = body["user"]
    assert_user(user)
    assert user["username"] == username
    assert user["full_name"] == "Ana Lima"
    assert user["bio"] == ""
    assert (user["follower_count"], user["following_count"], user["media_count"]) == (0, 0, 0)
    assert PASSWORD not in response.text
    assert "password" not in user

    me = http.get(f"{API}/me", headers={"Authorization": f"Bearer {body['token']}"})
    assert me.status_code == 200, me.text
    assert me.json()["id"] == user["id"]
    assert me.json()["username"] == username


def test_signup_without_full_name_defaults_to_empty(http: httpx.Client) -> None:
    response = post_account(http, {"username": unique_username(), "password": PASSWORD})
    assert response.status_code == 201, response.text
    assert response.json()["user"]["full_name"] == ""


def test_signups_get_distinct_ids_and_tokens(signup: Callable[..., Account]) -> None:
    accounts = [signup() for _ in range(5)]
    assert len({a.id for a in accounts}) == 5
    assert len({a.token for a in accounts}) == 5


def test_username_is_lowercased_and_case_insensitive(
    http: httpx.Client, signup: Callable[..., Account]
) -> None:
    base = unique_username()
    mixed = "Ana" + base
    account = signup(username=mixed)
    assert account.username == mixed.lower()
    assert get_user(http, mixed.lower())["id"] == account.id
    assert get_user(http, mixed.upper())["id"] == account.id

    login = http.post(f"{API}/sessions", json={"username": mixed.upper(), "password": PASSWORD})
    assert login.status_code == 201, login.text
    assert login.json()["user"]["id"] == account.id


def test_duplicate_username_is_409(http: httpx.Client, signup: Callable[..., Account]) -> None:
    account = signup()
    again = post_account(http, {"username": account.username, "password": "another password"})
    assert_error(again, 409, "username_taken")
    upper = post_account(http, {"username": account.username.upper(), "password": PASSWORD})
    assert_error(upper, 409, "username_taken")


def test_concurrent_duplicate_signups_create_one_account(server: ServerProcess) -> None:
    username = unique_username()

    def attempt(_: int) -> int:
        with api_client(server.base_url) as client:
            return post_account(client, {"username": username, "password": PASSWORD}).status_code

    with ThreadPoolExecutor(8) as pool:
        codes = list(pool.map(attempt, range(8)))
    assert sorted(codes) == [201] + [409] * 7, codes


@pytest.mark.parametrize(
    "username",
    [
        "",
        "a" * 31,
        "has space",
        "dash-name",
        "at@sign",
        "sl/ash",
        "tab\tname",
        "ümlaut",
        "emoji😀",
        "semi;colon",
    ],
)
def test_invalid_username_is_422(http: httpx.Client, username: str) -> None:
    assert_error(
        post_account(http, {"username": username, "password": PASSWORD}), 422, "validation_failed"
    )


def test_username_boundaries_are_accepted(signup: Callable[..., Account]) -> None:
    longest = ("u" + uuid4().hex + uuid4().hex)[:30]
    assert signup(username=longest).username == longest
    dotted = f"a.b_{uuid4().hex[:8]}"
    assert signup(username=dotted).username == dotted


@pytest.mark.parametrize("password", ["", "short", "x" * 7, "y" * 129])
def test_invalid_password_length_is_422(http: httpx.Client, password: str) -> None:
    response = post_account(http, {"username": unique_username(), "password": password})
    assert_error(response, 422, "validation_failed")


@pytest.mark.parametrize("password", ["x" * 8, "y" * 128, "pässwörd✓✓"])
def test_password_boundaries_are_accepted(http: httpx.Client, password: str) -> None:
    username = unique_username()
    assert post_account(http, {"username": username, "password": password}).status_code == 201
    login = http.post(f"{API}/sessions", json={"username": username, "password": password})
    assert login.status_code == 201, login.text


def test_full_name_length(http: httpx.Client) -> None:
    ok = post_account(
        http, {"username": unique_username(), "password": PASSWORD, "full_name": "é" * 64}
    )
    assert ok.status_code == 201, ok.text
    assert ok.json()["user"]["full_name"] == "é" * 64
    too_long = post_account(
        http, {"username": unique_username(), "password": PASSWORD, "full_name": "é" * 65}
    )
    assert_error(too_long, 422, "validation_failed")


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"username": "nopassword"},
        {"password": PASSWORD},
        {"username": 123, "password": PASSWORD},
        {"username": ["a"], "password": PASSWORD},
        {"username": None, "password": PASSWORD},
        {"username": "wrongtype", "password": None},
        {"username": "wrongtype", "password": 12345678},
        {"username": "wrongtype", "password": PASSWORD, "full_name": 7},
        {"username": "wrongtype", "password": PASSWORD, "admin": True},
        [],
        ["username", "password"],
        "username",
        42,
        None,
        True,
    ],
    ids=lambda body: repr(body)[:40],
)
def test_malformed_signup_body_is_400(http: httpx.Client, body: Any) -> None:
    assert_error(post_account(http, body), 400, "invalid_request")


@pytest.mark.parametrize(
    "raw",
    [b"", b"{", b'{"username": "a", "password": ', b"not json", b"\xff\xfe\x00", b"{'a': 1}"],
)
def test_malformed_json_is_400(http: httpx.Client, raw: bytes) -> None:
    response = http.post(
        f"{API}/accounts", content=raw, headers={"Content-Type": "application/json"}
    )
    assert_error(response, 400, "invalid_request")


def test_deeply_nested_json_is_400_not_500(http: httpx.Client) -> None:
    raw = b'{"username": ' + b"[" * 20000 + b"]" * 20000 + b"}"
    assert len(raw) < 64 * 1024
    response = http.post(
        f"{API}/accounts", content=raw, headers={"Content-Type": "application/json"}
    )
    assert_error(response, 400, "invalid_request")


def test_json_body_over_64_kib_is_413(http: httpx.Client) -> None:
    body = {"username": unique_username(), "password": PASSWORD, "full_name": "x" * (65 * 1024)}
    assert_error(post_account(http, body), 413, "too_large")


def test_signup_account_is_visible_publicly(
    http: httpx.Client, signup: Callable[..., Account]
) -> None:
    account = signup(full_name="Public Person")
    user = get_user(http, account.username)
    assert_user(user, authenticated=False)
    assert user["full_name"] == "Public Person"
    assert get_me(http, account)["id"] == account.id


@settings(
    max_examples=40,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(suffix=st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=24))
def test_username_rule_property(http: httpx.Client, suffix: str) -> None:
    username = "p" + uuid4().hex[:8] + suffix
    response = post_account(http, {"username": username, "password": PASSWORD})
    lowered = username.lower()
    # api.md: no "..", no trailing "." (the leading "p" is a letter).
    valid = len(lowered) <= 30 and set(lowered) <= ALLOWED
    if valid and ".." not in lowered and not lowered.endswith("."):
        assert response.status_code == 201, response.text
        assert response.json()["user"]["username"] == lowered
    else:
        assert_error(response, 422, "validation_failed")


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=12,
)


@settings(
    max_examples=60,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    body=st.fixed_dictionaries(
        {},
        optional={
            "username": json_values,
            "password": json_values,
            "full_name": json_values,
            "extra": json_values,
        },
    )
    | json_values
)
def test_arbitrary_json_never_crashes_signup(http: httpx.Client, body: Any) -> None:
    response = post_account(http, body)
    assert response.status_code in {201, 400, 409, 422}, response.text
    if response.status_code != 201:
        assert_error(response, response.status_code)
