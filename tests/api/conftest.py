"""Helpers for the API acceptance tests.

Every test talks to a real ``gramstack serve`` process over HTTP. The server is
shared by the whole session, so tests create their own users and never assume
that a global list is empty.
"""

from __future__ import annotations

import io
import os
import re
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.cookiejar import CookieJar, DefaultCookiePolicy
from pathlib import Path
from typing import Any, TypeVar
from uuid import uuid4

import httpx
import pytest
from PIL import Image

from tests.support.server import ServerProcess, start_server

API = "/api/v1"
PASSWORD = "correct horse battery"
ID_RE = re.compile(r"^[0-9]+$")
TIMESTAMP_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?Z$")
ERROR_CODE_RE = re.compile(r"^[a-z][a-z0-9_]*$")
USER_KEYS = {
    "id",
    "username",
    "full_name",
    "bio",
    "created_at",
    "follower_count",
    "following_count",
    "media_count",
    "avatar",
}
MEDIA_KEYS = {
    "id",
    "owner",
    "caption",
    "created_at",
    "width",
    "height",
    "images",
    "like_count",
    "comment_count",
    "liked_by_me",
}
COMMENT_KEYS = {"id", "media_id", "author", "text", "created_at"}
ACTIVITY_KEYS = {"id", "type", "actor", "media_id", "created_at"}
REPO_ROOT = str(Path(__file__).resolve().parents[2])
LEAK_MARKERS = (
    "Traceback",
    'File "',
    "site-packages",
    "sqlite3",
    "OperationalError",
    "IntegrityError",
    "SELECT ",
    "INSERT INTO",
    "DELETE FROM",
    "UPDATE ",
    "/tmp/",
    REPO_ROOT,
)

T = TypeVar("T")


# --------------------------------------------------------------------------- clients


def api_client(base_url: str, timeout: float = 30) -> httpx.Client:
    """An HTTP client that never stores cookies.

    The server also sets a session cookie for the web UI; a client that kept it
    would turn every "anonymous" request of a test into an authenticated one.
    """
    jar = CookieJar(policy=DefaultCookiePolicy(allowed_domains=[]))
    return httpx.Client(base_url=base_url, timeout=timeout, cookies=jar)


@pytest.fixture
def http(server: ServerProcess) -> Iterator[httpx.Client]:
    """Overrides the top-level ``http`` fixture with a cookie-less client."""
    with api_client(server.base_url) as client:
        yield client


# --------------------------------------------------------------------------- accounts


@dataclass
class Account:
    """A signed-up user as the tests see it."""

    id: str
    username: str
    token: str
    password: str = PASSWORD
    user: dict[str, Any] = field(default_factory=dict)

    @property
    def headers(self) -> dict[str, str]:
        return bearer(self.token)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def unique_username(prefix: str = "u") -> str:
    return f"{prefix}{uuid4().hex[:12]}"


def signup_user(
    client: httpx.Client,
    username: str | None = None,
    password: str = PASSWORD,
    full_name: str | None = None,
) -> Account:
    body: dict[str, Any] = {"username": username or unique_username(), "password": password}
    if full_name is not None:
        body["full_name"] = full_name
    response = client.post(f"{API}/accounts", json=body)
    assert response.status_code == 201, response.text
    data = response.json()
    user = data["user"]
    return Account(
        id=user["id"], username=user["username"], token=data["token"], password=password, user=user
    )


@pytest.fixture
def signup(http: httpx.Client) -> Callable[..., Account]:
    """Factory: ``signup(username=None, password=..., full_name=None) -> Account``."""

    def _signup(
        username: str | None = None, password: str = PASSWORD, full_name: str | None = None
    ) -> Account:
        return signup_user(http, username, password, full_name)

    return _signup


# --------------------------------------------------------------------------- images


def make_image(
    fmt: str = "JPEG",
    size: tuple[int, int] = (64, 48),
    *,
    mode: str = "RGB",
    color: Any = (200, 80, 40),
    noise: bool = False,
    exif: Image.Exif | None = None,
) -> bytes:
    """Real image bytes made with Pillow (JPEG, PNG, WebP, GIF, BMP, TIFF...)."""
    if noise:
        width, height = size
        channels = len(Image.new(mode, (1, 1)).getbands())
        image = Image.frombytes(mode, size, os.urandom(width * height * channels))
    else:
        image = Image.new(mode, size, color)
        # A second colour block so a resize has something to preserve.
        box = (0, 0, max(1, size[0] // 3), max(1, size[1] // 3))
        image.paste(Image.new(mode, (box[2], box[3])), box)
    buffer = io.BytesIO()
    params: dict[str, Any] = {}
    if exif is not None:
        params["exif"] = exif
    if fmt == "JPEG":
        params.setdefault("quality", 95 if noise else 85)
    image.save(buffer, fmt, **params)
    return buffer.getvalue()


def make_animated(fmt: str = "PNG", size: tuple[int, int] = (32, 32)) -> bytes:
    frames = [Image.new("RGB", size, (255, 0, 0)), Image.new("RGB", size, (0, 0, 255))]
    buffer = io.BytesIO()
    frames[0].save(buffer, fmt, save_all=True, append_images=frames[1:], duration=100, loop=0)
    return buffer.getvalue()


def open_image(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


# --------------------------------------------------------------------------- media


def upload_media(
    client: httpx.Client,
    headers: Mapping[str, str] | None,
    data: bytes | None = None,
    *,
    caption: str | None = None,
    filename: str = "photo.jpg",
    content_type: str = "image/jpeg",
) -> httpx.Response:
    """POST /media as multipart with field ``file`` and optional ``caption``."""
    files = {"file": (filename, make_image() if data is None else data, content_type)}
    form = {"caption": caption} if caption is not None else None
    return client.post(f"{API}/media", headers=dict(headers or {}), files=files, data=form)


def post_media(
    client: httpx.Client, account: Account, caption: str | None = None, **image: Any
) -> dict[str, Any]:
    """Upload a small JPEG and return the Media object (asserts 201)."""
    response = upload_media(client, account.headers, make_image(**image), caption=caption)
    assert response.status_code == 201, response.text
    media: dict[str, Any] = response.json()
    return media


def delete_media(client: httpx.Client, account: Account, media_id: str) -> None:
    response = client.delete(f"{API}/media/{media_id}", headers=account.headers)
    assert response.status_code == 204, response.text


# --------------------------------------------------------------------------- social actions


def follow(client: httpx.Client, who: Account, whom: str) -> dict[str, Any]:
    response = client.put(f"{API}/users/{whom}/follow", headers=who.headers)
    assert response.status_code == 200, response.text
    user: dict[str, Any] = response.json()
    return user


def unfollow(client: httpx.Client, who: Account, whom: str) -> dict[str, Any]:
    response = client.delete(f"{API}/users/{whom}/follow", headers=who.headers)
    assert response.status_code == 200, response.text
    user: dict[str, Any] = response.json()
    return user


def like(client: httpx.Client, who: Account, media_id: str) -> dict[str, Any]:
    response = client.put(f"{API}/media/{media_id}/like", headers=who.headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def unlike(client: httpx.Client, who: Account, media_id: str) -> dict[str, Any]:
    response = client.delete(f"{API}/media/{media_id}/like", headers=who.headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def comment(client: httpx.Client, who: Account, media_id: str, text: str) -> dict[str, Any]:
    response = client.post(
        f"{API}/media/{media_id}/comments", headers=who.headers, json={"text": text}
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def get_json(client: httpx.Client, path: str, account: Account | None = None, **params: Any) -> Any:
    response = client.get(path, headers=account.headers if account else {}, params=params)
    assert response.status_code == 200, f"GET {path}: {response.status_code} {response.text}"
    return response.json()


def get_media(client: httpx.Client, media_id: str, account: Account | None = None) -> Any:
    return get_json(client, f"{API}/media/{media_id}", account)


def get_user(client: httpx.Client, username: str, account: Account | None = None) -> Any:
    return get_json(client, f"{API}/users/{username}", account)


def get_me(client: httpx.Client, account: Account) -> Any:
    return get_json(client, f"{API}/me", account)


def fresh_get(
    base_url: str, path: str, headers: Mapping[str, str] | None = None, times: int = 4
) -> list[httpx.Response]:
    """GET ``path`` over ``times`` new connections, so several workers answer."""
    responses = []
    for _ in range(times):
        with api_client(base_url) as client:
            responses.append(client.get(path, headers=dict(headers or {})))
    return responses


# --------------------------------------------------------------------------- pages


def get_page(
    client: httpx.Client,
    path: str,
    account: Account | None = None,
    *,
    limit: int | None = None,
    cursor: str | None = None,
) -> dict[str, Any]:
    params: dict[str, Any] = {}
    if limit is not None:
        params["limit"] = limit
    if cursor is not None:
        params["cursor"] = cursor
    page: dict[str, Any] = get_json(client, path, account, **params)
    assert set(page) == {"items", "next_cursor"}, page
    assert isinstance(page["items"], list)
    assert page["next_cursor"] is None or (
        isinstance(page["next_cursor"], str) and page["next_cursor"]
    )
    if limit is not None:
        assert len(page["items"]) <= limit
    return page


def paginate(
    client: httpx.Client,
    path: str,
    account: Account | None = None,
    *,
    limit: int | None = None,
    max_pages: int = 200,
) -> list[dict[str, Any]]:
    """Follow ``next_cursor`` to the end and return every item."""
    items: list[dict[str, Any]] = []
    cursor: str | None = None
    for _ in range(max_pages):
        page = get_page(client, path, account, limit=limit, cursor=cursor)
        items.extend(page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            return items
    raise AssertionError(f"{path}: more than {max_pages} pages")


def ids(items: list[dict[str, Any]]) -> list[str]:
    return [item["id"] for item in items]


# --------------------------------------------------------------------------- assertions


def eventually(fn: Callable[[], T], timeout: float = 5.0, interval: float = 0.05) -> T:
    """Call ``fn`` until it neither raises AssertionError nor returns False.

    Returns its last result; on timeout re-raises the last AssertionError.
    """
    deadline = time.monotonic() + timeout
    while True:
        try:
            result = fn()
        except AssertionError:
            if time.monotonic() >= deadline:
                raise
        else:
            if result is not False:
                return result
            if time.monotonic() >= deadline:
                raise AssertionError(f"{fn!r} still false after {timeout}s")
        time.sleep(interval)


def assert_no_leak(text: str) -> None:
    for marker in LEAK_MARKERS:
        assert marker not in text, f"error body leaks {marker!r}: {text[:500]}"


def assert_error(response: httpx.Response, status: int, code: str | None = None) -> dict[str, Any]:
    """The response is ``status`` with the error body shape (and ``code`` if given)."""
    assert response.status_code == status, (
        f"expected {status}, got {response.status_code}: {response.text[:500]}"
    )
    assert response.headers.get("content-type", "").startswith("application/json"), response.headers
    body = response.json()
    assert isinstance(body, dict) and set(body) == {"error"}, body
    error = body["error"]
    assert isinstance(error, dict), body
    assert {"code", "message"} <= set(error), body
    assert isinstance(error["code"], str) and ERROR_CODE_RE.match(error["code"]), body
    assert isinstance(error["message"], str) and error["message"], body
    if code is not None:
        assert error["code"] == code, body
    assert_no_leak(response.text)
    return error


def assert_timestamp(value: Any) -> None:
    assert isinstance(value, str) and TIMESTAMP_RE.match(value), value


def assert_id(value: Any) -> None:
    assert isinstance(value, str) and ID_RE.match(value), value
    assert 0 < int(value) < 2**63, value


def assert_user_ref(ref: Any, account: Account | None = None) -> None:
    assert isinstance(ref, dict) and {"id", "username"} <= set(ref), ref
    assert_id(ref["id"])
    if account is not None:
        assert ref["id"] == account.id and ref["username"] == account.username, ref


def assert_user(user: Any, *, authenticated: bool | None = None) -> None:
    assert isinstance(user, dict), user
    assert set(user) >= USER_KEYS, user
    assert set(user) <= USER_KEYS | {"followed_by_me"}, user
    assert_id(user["id"])
    assert isinstance(user["username"], str) and user["username"] == user["username"].lower()
    assert isinstance(user["full_name"], str)
    assert isinstance(user["bio"], str)
    assert_timestamp(user["created_at"])
    for key in ("follower_count", "following_count", "media_count"):
        assert type(user[key]) is int and user[key] >= 0, user
    if authenticated is True:
        assert type(user.get("followed_by_me")) is bool, user
    elif authenticated is False:
        assert "followed_by_me" not in user, user


def assert_media(media: Any, owner: Account | None = None) -> None:
    assert isinstance(media, dict), media
    assert set(media) == MEDIA_KEYS, media
    assert_id(media["id"])
    assert_user_ref(media["owner"], owner)
    assert media["caption"] is None or isinstance(media["caption"], str)
    assert_timestamp(media["created_at"])
    for key in ("width", "height"):
        assert type(media[key]) is int and media[key] > 0, media
    for key in ("like_count", "comment_count"):
        assert type(media[key]) is int and media[key] >= 0, media
    assert type(media["liked_by_me"]) is bool
    images = media["images"]
    assert isinstance(images, dict) and {"thumbnail", "standard"} <= set(images), media
    for url in (images["thumbnail"], images["standard"]):
        assert isinstance(url, str) and url.startswith("/") and not url.startswith("//"), url


def assert_comment(item: Any, author: Account | None = None) -> None:
    assert isinstance(item, dict) and set(item) == COMMENT_KEYS, item
    assert_id(item["id"])
    assert_id(item["media_id"])
    assert_user_ref(item["author"], author)
    assert isinstance(item["text"], str)
    assert_timestamp(item["created_at"])


def assert_activity(item: Any) -> None:
    assert isinstance(item, dict) and set(item) == ACTIVITY_KEYS, item
    assert_id(item["id"])
    assert item["type"] in {"like", "comment", "follow"}, item
    assert_user_ref(item["actor"])
    if item["type"] == "follow":
        assert item["media_id"] is None, item
    else:
        assert_id(item["media_id"])
    assert_timestamp(item["created_at"])


# --------------------------------------------------------------------------- extra servers


@contextmanager
def extra_server(
    tmp_path_factory: pytest.TempPathFactory, env: Mapping[str, str], workers: int = 1
) -> Iterator[ServerProcess]:
    """A separate server with other ``GRAMSTACK_*`` settings, stopped afterwards."""
    proc = start_server(
        Path(tmp_path_factory.mktemp("extra-server")),
        env=env,
        workers=workers,
        on_test_backend=True,
    )
    try:
        yield proc
    finally:
        code = proc.stop()
    assert code == 0, proc.log()
