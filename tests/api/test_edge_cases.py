"""Inputs and sequences found by reviewing the server against api.md."""

from __future__ import annotations

import time
from collections.abc import Callable

import httpx
import pytest

from tests.api.conftest import (
    Account,
    assert_error,
    comment,
    get_json,
    post_media,
)

API = "/api/v1"


@pytest.mark.parametrize("raw", ['{"text": "a\\ud800b"}', '{"text": "a\\u0000b"}'])
def test_text_no_database_can_store_is_400(
    http: httpx.Client, signup: Callable[..., Account], raw: str
) -> None:
    ana = signup()
    media = post_media(http, ana)
    response = http.post(
        f"{API}/media/{media['id']}/comments",
        content=raw.encode(),
        headers={**ana.headers, "Content-Type": "application/json"},
    )
    assert_error(response, 400, "invalid_request")
    assert get_json(http, f"{API}/media/{media['id']}")["comment_count"] == 0


@pytest.mark.parametrize("limit", ["\u00b2", "\u0663", "\uff11"])
def test_non_ascii_digits_are_not_limits(http: httpx.Client, limit: str) -> None:
    response = http.get(f"{API}/users/nobody_at_all/followers", params={"limit": limit})
    assert_error(response, 400, "invalid_request")


def test_usernames_are_ascii_only(http: httpx.Client) -> None:
    response = http.post(
        f"{API}/accounts", json={"username": "\u212axelvin", "password": "password1"}
    )
    assert_error(response, 422, "validation_failed")


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("PUT", "/media/abc/like"),
        ("DELETE", "/media/abc/like"),
        ("DELETE", "/media/abc"),
        ("DELETE", "/comments/abc"),
        ("POST", "/media/abc/comments"),
    ],
)
def test_auth_is_checked_before_the_path_id(http: httpx.Client, method: str, path: str) -> None:
    assert_error(http.request(method, f"{API}{path}"), 401, "unauthorized")


def test_owner_deleting_a_comment_sees_it_leave_their_activity_at_once(
    http: httpx.Client, signup: Callable[..., Account]
) -> None:
    ana, bo = signup(), signup()
    media = post_media(http, ana)
    said = comment(http, bo, media["id"], "first!")

    def activity_ids() -> list[str]:
        return [i["id"] for i in get_json(http, f"{API}/activity", ana)["items"]]

    # The comment's activity item arrives eventually; then the owner deletes.
    deadline = time.monotonic() + 5
    while said["id"] not in activity_ids() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert said["id"] in activity_ids()
    assert http.delete(f"{API}/comments/{said['id']}", headers=ana.headers).status_code == 204
    assert said["id"] not in activity_ids()


def test_image_revalidation_is_cheap_and_sees_deletion(
    http: httpx.Client, signup: Callable[..., Account]
) -> None:
    ana = signup()
    media = post_media(http, ana)
    url = media["images"]["thumbnail"]
    first = http.get(url)
    assert first.status_code == 200
    assert "no-cache" in first.headers["cache-control"]
    etag = first.headers["etag"]
    again = http.get(url, headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b""
    assert http.delete(f"{API}/media/{media['id']}", headers=ana.headers).status_code == 204
    assert http.get(url, headers={"If-None-Match": etag}).status_code == 404
