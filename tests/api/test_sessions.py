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
    bearer,
    fresh_get,
    get_me,
    unique_username,
)
from tests.support.server import ServerProcess


def login(http: httpx.Client, body: Any) -> httpx.Response:
    return http.post(f"{API}/sessions", json=body)


def test_login_returns_user_and_new_token(
    http: httpx.Client, signup: Callable[..., Account]
) -> None:
    account = signup(full_name="Logging In")
    response = login(http, {"username": account.username, "password": account.password})
    assert response.status_code == 201, response.text
    body = response.json()
    assert set(body) == {"user", "token"}
    assert_user(body["user"])
    assert body["user"]["id"] == account.id
    assert body["user"]["full_name"] == "Logging In"
    assert isinstance(body["token"], str) and body["token"] != account.token
    assert account.password not in response.text
    assert get_me(http, Account(account.id, account.username, body["token"]))["id"] == account.id


def test_two_sessions_are_independent(http: httpx.Client, signup: Callable[..., Account]) -> None:
    account = signup()
    second = login(http, {"username": account.username, "password": account.password})
    assert second.status_code == 201
    token2 = second.json()["token"]

    out = http.delete(f"{API}/sessions/current", headers=bearer(token2))
    assert out.status_code == 204, out.text
    assert out.content == b""
    assert_error(http.get(f"{API}/me", headers=bearer(token2)), 401, "unauthorized")
    assert http.get(f"{API}/me", headers=account.headers).status_code == 200


def test_wrong_password_is_401(http: httpx.Client, signup: Callable[..., Account]) -> None:
    account = signup()
    response = login(http, {"username": account.username, "password": "wrong password!"})
    assert_error(response, 401, "unauthorized")
    assert "token" not in response.text


def test_unknown_user_login_is_401(http: httpx.Client) -> None:
    response = login(http, {"username": unique_username(), "password": "whatever123"})
    assert_error(response, 401, "unauthorized")


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"username": "someone"},
        {"password": "whatever123"},
        {"username": 1, "password": "whatever123"},
        {"username": "someone", "password": None},
        {"username": "someone", "password": "whatever123", "remember": True},
        ["someone", "whatever123"],
        "someone",
    ],
    ids=lambda body: repr(body)[:40],
)
def test_malformed_login_is_400(http: httpx.Client, body: Any) -> None:
    assert_error(login(http, body), 400, "invalid_request")


def test_malformed_login_json_is_400(http: httpx.Client) -> None:
    response = http.post(
        f"{API}/sessions", content=b'{"username":', headers={"Content-Type": "application/json"}
    )
    assert_error(response, 400, "invalid_request")


def test_logout_revokes_token_at_once_on_every_worker(
    http: httpx.Client, server: ServerProcess, signup: Callable[..., Account]
) -> None:
    account = signup()
    # Warm any per-worker cache of the token first.
    for response in fresh_get(server.base_url, f"{API}/me", account.headers, times=6):
        assert response.status_code == 200

    out = http.delete(f"{API}/sessions/current", headers=account.headers)
    assert out.status_code == 204, out.text

    for response in fresh_get(server.base_url, f"{API}/me", account.headers, times=8):
        assert_error(response, 401, "unauthorized")
    # A revoked token is rejected even where auth is optional.
    anonymous_ok = http.get(f"{API}/users/{account.username}")
    assert anonymous_ok.status_code == 200
    revoked = http.get(f"{API}/users/{account.username}", headers=account.headers)
    assert_error(revoked, 401, "unauthorized")
    # Logging out twice with the same token is just another bad token.
    assert_error(http.delete(f"{API}/sessions/current", headers=account.headers), 401)


def test_login_again_after_logout_works(http: httpx.Client, signup: Callable[..., Account]) -> None:
    account = signup()
    assert http.delete(f"{API}/sessions/current", headers=account.headers).status_code == 204
    again = login(http, {"username": account.username, "password": account.password})
    assert again.status_code == 201, again.text
    assert http.get(f"{API}/me", headers=bearer(again.json()["token"])).status_code == 200


def test_logout_without_token_is_401(http: httpx.Client) -> None:
    assert_error(http.delete(f"{API}/sessions/current"), 401, "unauthorized")


@pytest.mark.parametrize(
    "authorization",
    [
        "Bearer",
        "Bearer not-a-real-token",
        "Bearer " + "A" * 500,
        "Basic dXNlcjpwYXNz",
        "token abc",
        "Bearer abc def",
    ],
)
def test_bad_authorization_is_401(http: httpx.Client, authorization: str) -> None:
    response = http.get(f"{API}/me", headers={"Authorization": authorization})
    assert_error(response, 401, "unauthorized")


@pytest.mark.parametrize(
    "path",
    [f"{API}/me", f"{API}/feed", f"{API}/activity"],
)
def test_auth_endpoints_without_token_are_401(http: httpx.Client, path: str) -> None:
    assert_error(http.get(path), 401, "unauthorized")


def test_bad_token_on_public_endpoint_is_401(
    http: httpx.Client, signup: Callable[..., Account]
) -> None:
    account = signup()
    response = http.get(f"{API}/users/{account.username}", headers=bearer("forged-token-value"))
    assert_error(response, 401, "unauthorized")


def test_token_of_one_user_does_not_act_as_another(
    http: httpx.Client, signup: Callable[..., Account]
) -> None:
    ana, bo = signup(), signup()
    assert get_me(http, ana)["id"] == ana.id
    assert get_me(http, bo)["id"] == bo.id
