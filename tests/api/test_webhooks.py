"""The webhook endpoints (an addition to api.md): register, read, remove."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest

from tests.api.conftest import API, Account, assert_error

HOOK = f"{API}/me/webhook"


def test_webhook_endpoints_require_auth(http: httpx.Client) -> None:
    assert_error(http.get(HOOK), 401, "unauthorized")
    assert_error(http.put(HOOK, json={"url": "https://example.com/h"}), 401, "unauthorized")
    assert_error(http.delete(HOOK), 401, "unauthorized")


def test_register_read_replace_remove(http: httpx.Client, signup: Callable[..., Account]) -> None:
    ana = signup()
    assert_error(http.get(HOOK, headers=ana.headers), 404, "not_found")
    first = http.put(HOOK, headers=ana.headers, json={"url": "https://example.com/hook"})
    assert first.status_code == 200, first.text
    assert set(first.json()) == {"url", "secret"}
    assert first.json()["url"] == "https://example.com/hook"
    assert len(first.json()["secret"]) >= 32
    # The secret is shown once: reading the webhook does not reveal it.
    assert http.get(HOOK, headers=ana.headers).json() == {"url": "https://example.com/hook"}
    second = http.put(HOOK, headers=ana.headers, json={"url": "https://example.org/h2"})
    assert second.json()["secret"] != first.json()["secret"]  # a new one each time
    assert http.get(HOOK, headers=ana.headers).json() == {"url": "https://example.org/h2"}
    # Each user's own.
    assert_error(http.get(HOOK, headers=signup().headers), 404, "not_found")
    assert http.delete(HOOK, headers=ana.headers).status_code == 204
    assert_error(http.get(HOOK, headers=ana.headers), 404, "not_found")
    assert_error(http.delete(HOOK, headers=ana.headers), 404, "not_found")


@pytest.mark.parametrize(
    "url",
    [
        "ftp://example.com/x",
        "not a url",
        "https://user:pw@example.com/",
        "http://[::1]/",
        "https://example.com/" + "a" * 2000,
        "",
    ],
)
def test_bad_urls_are_refused(http: httpx.Client, signup: Callable[..., Account], url: str) -> None:
    ana = signup()
    assert_error(http.put(HOOK, headers=ana.headers, json={"url": url}), 422, "validation_failed")
    assert_error(http.get(HOOK, headers=ana.headers), 404)


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8000/hook",
        "http://localhost/hook",
        "http://169.254.169.254/latest/meta-data",
        "http://10.0.0.7/",
    ],
)
def test_private_addresses_are_forbidden(
    http: httpx.Client, signup: Callable[..., Account], url: str
) -> None:
    # The server would otherwise POST into its own network for any user.
    ana = signup()
    assert_error(http.put(HOOK, headers=ana.headers, json={"url": url}), 403, "forbidden")
    assert_error(http.get(HOOK, headers=ana.headers), 404)


@pytest.mark.parametrize("body", [{}, {"url": 5}, {"url": "https://e.com", "x": 1}])
def test_malformed_bodies_are_refused(
    http: httpx.Client, signup: Callable[..., Account], body: object
) -> None:
    # Missing, mistyped and unknown fields are malformed requests (api.md).
    assert_error(http.put(HOOK, headers=signup().headers, json=body), 400)
