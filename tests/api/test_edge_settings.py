"""The HTTP edge of issue 12: whose X-Forwarded-For counts, Secure cookies,
``nosniff`` on images, and multipart text that is not UTF-8."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator

import httpx
import pytest

from tests.api.conftest import (
    API,
    Account,
    api_client,
    assert_error,
    extra_server,
    make_image,
    post_media,
    signup_user,
)
from tests.support.server import ServerProcess

LOGINS_PER_MINUTE = 3
CLIENT_ADDRESS = "127.0.0.2"


@pytest.fixture
def account(signup: Callable[..., Account]) -> Account:
    return signup()


@pytest.fixture(scope="module")
def default_edge_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """Default edge settings (nobody trusted, cookies not Secure), a low login limit."""
    env = {"GRAMSTACK_LOGIN_RATE_PER_MINUTE": str(LOGINS_PER_MINUTE)}
    with extra_server(tmp_path_factory, env, workers=2) as proc:
        yield proc


@pytest.fixture(scope="module")
def proxied_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """Behind a (pretend) TLS proxy on the loopback: its X-Forwarded-For counts."""
    env = {
        "GRAMSTACK_LOGIN_RATE_PER_MINUTE": str(LOGINS_PER_MINUTE),
        "GRAMSTACK_TRUSTED_PROXIES": "127.0.0.0/8,::1",
        "GRAMSTACK_COOKIE_SECURE": "true",
    }
    with extra_server(tmp_path_factory, env, workers=2) as proc:
        yield proc


def _logins_from_invented_addresses(server: ServerProcess, count: int) -> list[int]:
    with api_client(server.base_url) as client:
        account = signup_user(client)
    body = {"username": account.username, "password": account.password}
    codes = []
    for n in range(count):
        # A new connection each time, so both workers take turns answering;
        # from a loopback address of its own, so that this test's bucket is
        # not 127.0.0.1's, which other tests' servers may share (PostgreSQL).
        transport = httpx.HTTPTransport(local_address=CLIENT_ADDRESS)
        with httpx.Client(base_url=server.base_url, transport=transport, timeout=30) as client:
            headers = {"X-Forwarded-For": f"203.0.113.{n + 1}"}
            codes.append(client.post(f"{API}/sessions", json=body, headers=headers).status_code)
    return codes


def test_invented_forwarded_addresses_do_not_dodge_the_login_limit(
    default_edge_server: ServerProcess,
) -> None:
    codes = _logins_from_invented_addresses(default_edge_server, 6)
    assert codes == [201] * LOGINS_PER_MINUTE + [429] * 3, codes


def test_a_trusted_proxy_forwards_the_client_address(proxied_server: ServerProcess) -> None:
    # Each forwarded client has its own bucket: the proxy's word counts.
    codes = _logins_from_invented_addresses(proxied_server, 6)
    assert codes == [201] * 6, codes


def _session_cookies(server: ServerProcess) -> list[str]:
    with api_client(server.base_url) as client:
        response = client.post(
            f"{API}/accounts",
            json={"username": f"c{uuid.uuid4().hex[:12]}", "password": "correct horse battery"},
            headers={"X-Session-Cookie": "1"},
        )
    assert response.status_code == 201, response.text
    cookies = response.headers.get_list("set-cookie")
    assert {c.split("=", 1)[0] for c in cookies} == {"gs_session", "gs_csrf"}, cookies
    return cookies


def test_cookie_secure_marks_session_and_csrf_cookies(proxied_server: ServerProcess) -> None:
    for cookie in _session_cookies(proxied_server):
        attributes = {part.strip().lower() for part in cookie.split(";")[1:]}
        assert "secure" in attributes, cookie


def test_cookies_are_not_secure_by_default(default_edge_server: ServerProcess) -> None:
    for cookie in _session_cookies(default_edge_server):
        attributes = {part.strip().lower() for part in cookie.split(";")[1:]}
        assert "secure" not in attributes, cookie


def test_images_are_served_with_nosniff(http: httpx.Client, account: Account) -> None:
    media = post_media(http, account)
    for url in media["images"].values():
        response = http.get(url)
        assert response.status_code == 200
        assert response.headers["content-type"] == "image/jpeg"
        assert response.headers["x-content-type-options"] == "nosniff"


def _multipart(caption: bytes) -> tuple[bytes, str]:
    boundary = "gramstack-test-boundary"
    body = b"".join(
        [
            f"--{boundary}\r\n".encode(),
            b'Content-Disposition: form-data; name="caption"\r\n\r\n',
            caption,
            b"\r\n",
            f"--{boundary}\r\n".encode(),
            b'Content-Disposition: form-data; name="file"; filename="a.jpg"\r\n',
            b"Content-Type: image/jpeg\r\n\r\n",
            make_image(),
            b"\r\n",
            f"--{boundary}--\r\n".encode(),
        ]
    )
    return body, f"multipart/form-data; boundary={boundary}"


@pytest.mark.parametrize(
    "caption",
    [b"caf\xe9", b"\xff\xfe", b"ok \xc3", b"\xed\xa0\x80 surrogate", b"overlong \xc0\xaf"],
)
def test_a_caption_that_is_not_utf8_is_refused(
    http: httpx.Client, account: Account, caption: bytes
) -> None:
    body, content_type = _multipart(caption)
    headers = {**account.headers, "Content-Type": content_type}
    response = http.post(f"{API}/media", content=body, headers=headers)
    assert_error(response, 400, "invalid_request")
    assert "utf-8" in response.json()["error"]["message"].lower()
    mine = http.get(f"{API}/users/{account.username}/media", headers=account.headers).json()
    assert mine["items"] == []


def test_a_utf8_caption_is_stored_as_sent(http: httpx.Client, account: Account) -> None:
    body, content_type = _multipart("café 📷".encode())
    headers = {**account.headers, "Content-Type": content_type}
    response = http.post(f"{API}/media", content=body, headers=headers)
    assert response.status_code == 201, response.text
    assert response.json()["caption"] == "café 📷"
