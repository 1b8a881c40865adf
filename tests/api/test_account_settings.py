"""Username rule, avatars and password change (api.md, additions)."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from tests.api.conftest import (
    API,
    PASSWORD,
    Account,
    assert_error,
    assert_user,
    bearer,
    get_me,
    get_user,
    make_animated,
    make_image,
    open_image,
    unique_username,
)


@pytest.mark.parametrize("username", [".", "..", "...", "a.", ".a", "a..b", "___", "_.", "x" * 31])
def test_usernames_against_the_rule_are_422(http: httpx.Client, username: str) -> None:
    response = http.post(f"{API}/accounts", json={"username": username, "password": PASSWORD})
    assert_error(response, 422, "validation_failed")


@pytest.mark.parametrize("shape", ["a.b.c", "_a_", "_._a", "0", "a_b.c_"])
def test_usernames_within_the_rule_sign_up(signup: Callable[..., Account], shape: str) -> None:
    username = f"{shape}{unique_username('')[:8]}"
    assert signup(username=username).username == username


def test_a_bad_username_in_a_path_is_404(http: httpx.Client) -> None:
    for bad in ("a..b", "a.", ".a"):
        assert_error(http.get(f"{API}/users/{bad}"), 404, "not_found")


# --------------------------------------------------------------------------- avatars


def _put_avatar(http: httpx.Client, who: Account, data: bytes, **extra: str) -> httpx.Response:
    files = {"file": ("me.png", data, "image/png")}
    return http.put(f"{API}/me/avatar", headers=who.headers, files=files, data=extra or None)


def test_every_user_object_has_an_avatar_field(
    http: httpx.Client, signup: Callable[..., Account]
) -> None:
    ana = signup()
    assert ana.user["avatar"] is None
    assert get_me(http, ana)["avatar"] is None
    assert get_user(http, ana.username)["avatar"] is None


@pytest.mark.parametrize(
    ("size", "fmt"), [((400, 200), "PNG"), ((60, 90), "JPEG"), ((320, 320), "WEBP")]
)
def test_avatar_is_a_square_crop_at_exactly_150_and_320(
    http: httpx.Client, signup: Callable[..., Account], size: tuple[int, int], fmt: str
) -> None:
    ana = signup()
    response = _put_avatar(http, ana, make_image(fmt, size))
    assert response.status_code == 200, response.text
    user = response.json()
    assert_user(user)
    avatar = user["avatar"]
    assert set(avatar) == {"thumbnail", "standard"}
    for url, side in ((avatar["thumbnail"], 150), (avatar["standard"], 320)):
        image = http.get(url)
        assert image.status_code == 200 and image.headers["content-type"] == "image/jpeg"
        assert open_image(image.content).size == (side, side)
    assert get_user(http, ana.username)["avatar"] == avatar
    assert get_me(http, ana)["avatar"] == avatar


def test_a_new_avatar_replaces_the_old_files_and_delete_removes_them(
    http: httpx.Client, signup: Callable[..., Account]
) -> None:
    ana = signup()
    first = _put_avatar(http, ana, make_image("PNG", (100, 100))).json()["avatar"]
    second = _put_avatar(http, ana, make_image("PNG", (200, 100))).json()["avatar"]
    assert first != second
    assert http.get(first["thumbnail"]).status_code == 404
    assert http.get(second["thumbnail"]).status_code == 200
    removed = http.delete(f"{API}/me/avatar", headers=ana.headers)
    assert removed.status_code == 200, removed.text
    assert removed.json()["avatar"] is None
    for url in second.values():
        assert http.get(url).status_code == 404
    assert get_user(http, ana.username)["avatar"] is None
    again = http.delete(f"{API}/me/avatar", headers=ana.headers)
    assert again.status_code == 200 and again.json()["avatar"] is None


def test_bad_avatars_are_refused_like_bad_posts(
    http: httpx.Client, signup: Callable[..., Account]
) -> None:
    ana = signup()
    assert_error(_put_avatar(http, ana, b"not an image"), 415, "unsupported_media_type")
    assert_error(_put_avatar(http, ana, make_animated()), 415, "unsupported_media_type")
    assert_error(_put_avatar(http, ana, make_image("PNG"), caption="x"), 400, "invalid_request")
    no_file = http.put(f"{API}/me/avatar", headers=ana.headers, data={"x": "1"})
    assert_error(no_file, 400)
    not_multipart = http.put(f"{API}/me/avatar", headers=ana.headers, json={"file": "x"})
    assert_error(not_multipart, 400, "invalid_request")
    assert_error(
        http.put(f"{API}/me/avatar", files={"file": ("a.png", make_image("PNG"), "image/png")}),
        401,
    )
    assert get_me(http, ana)["avatar"] is None


def test_an_avatar_over_the_size_limit_is_413(
    http: httpx.Client, signup: Callable[..., Account]
) -> None:
    ana = signup()
    huge = b"\xff\xd8" + b"\x00" * (21 * 1024 * 1024)
    assert_error(_put_avatar(http, ana, huge), 413, "too_large")


# --------------------------------------------------------------------------- password


def _log_in(http: httpx.Client, username: str, password: str) -> httpx.Response:
    return http.post(f"{API}/sessions", json={"username": username, "password": password})


def test_password_change_revokes_every_other_session_at_once(
    http: httpx.Client, signup: Callable[..., Account]
) -> None:
    ana = signup()
    others = [_log_in(http, ana.username, PASSWORD).json()["token"] for _ in range(3)]
    new = "a much better password"
    response = http.put(
        f"{API}/me/password",
        headers=ana.headers,
        json={"current_password": PASSWORD, "new_password": new},
    )
    assert response.status_code == 204, response.text
    # Over fresh connections too, so each worker process answers.
    for token in others:
        for _ in range(4):
            assert_error(http.get(f"{API}/me", headers=bearer(token)), 401, "unauthorized")
    assert get_me(http, ana)["id"] == ana.id
    assert_error(_log_in(http, ana.username, PASSWORD), 401)
    assert _log_in(http, ana.username, new).status_code == 201


def test_password_change_needs_the_current_password_and_a_valid_new_one(
    http: httpx.Client, signup: Callable[..., Account]
) -> None:
    ana = signup()
    other = _log_in(http, ana.username, PASSWORD).json()["token"]
    url = f"{API}/me/password"
    wrong = {"current_password": "not my password", "new_password": "whatever123"}
    assert_error(http.put(url, headers=ana.headers, json=wrong), 401, "unauthorized")
    short = {"current_password": PASSWORD, "new_password": "short"}
    assert_error(http.put(url, headers=ana.headers, json=short), 422, "validation_failed")
    for body in (
        {"current_password": PASSWORD},
        {"current_password": PASSWORD, "new_password": 12345678},
        {"current_password": PASSWORD, "new_password": "longenough", "extra": 1},
    ):
        assert_error(http.put(url, headers=ana.headers, json=body), 400, "invalid_request")
    assert_error(http.put(url, json={"current_password": PASSWORD, "new_password": "x" * 9}), 401)
    # Nothing changed: the other session still works.
    assert http.get(f"{API}/me", headers=bearer(other)).status_code == 200


def test_concurrent_password_changes_leave_one_password(
    http: httpx.Client, signup: Callable[..., Account]
) -> None:
    ana = signup()
    news = [f"new password {i}" for i in range(4)]

    def change(new: str) -> int:
        body = {"current_password": PASSWORD, "new_password": new}
        return http.put(f"{API}/me/password", headers=ana.headers, json=body).status_code

    with ThreadPoolExecutor(4) as pool:
        statuses = list(pool.map(change, news))
    # The current password is checked and replaced atomically: one wins.
    assert sorted(statuses) == [204, 401, 401, 401], statuses
    working = [n for n in news if _log_in(http, ana.username, n).status_code == 201]
    assert working == [news[statuses.index(204)]]
