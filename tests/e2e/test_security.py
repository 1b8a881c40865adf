"""The browser-facing security promises: HttpOnly session, CSRF, CSP."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest

from tests.e2e.ui import Tab, sign_up, unique_name

REQUIRED_CSP = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self'",
    "object-src": "'none'",
    "base-uri": "'none'",
    "frame-ancestors": "'none'",
    "form-action": "'self'",
}
PAGES = ["/", "/signup", "/login", "/new", "/activity", "/u/somebody", "/p/12345"]


def parse_csp(header: str) -> dict[str, str]:
    directives = (part.strip().split(None, 1) for part in header.split(";") if part.strip())
    return {name: (value[0] if value else "") for name, *value in directives}


def test_session_cookie_is_http_only_and_strict(new_tab: Callable[..., Tab]) -> None:
    tab = new_tab()
    sign_up(tab, unique_name("cookie"))
    visible = tab.page.evaluate("document.cookie")
    assert "gs_session" not in visible
    assert "gs_csrf=" in visible
    cookies = {c["name"]: c for c in tab.context.cookies()}
    assert cookies["gs_session"]["httpOnly"] is True
    assert cookies["gs_session"]["sameSite"] == "Strict"
    assert cookies["gs_csrf"]["sameSite"] == "Strict"
    # Nothing kept the token from the JSON body.
    stored = tab.page.evaluate(
        "JSON.stringify([Object.entries(localStorage), Object.entries(sessionStorage)])"
    )
    assert stored == "[[],[]]"


def test_cookie_request_without_csrf_header_is_forbidden(new_tab: Callable[..., Tab]) -> None:
    tab = new_tab()
    sign_up(tab, unique_name("csrf"))
    script = """async ([withToken]) => {
        const headers = {"Content-Type": "application/json"};
        if (withToken) headers["X-CSRF-Token"] = GS.csrfToken();
        const response = await fetch("/api/v1/me", {
            method: "PATCH", headers, body: JSON.stringify({bio: "hello"}),
        });
        return [response.status, await response.json()];
    }"""
    status, body = tab.page.evaluate(script, [False])
    assert status == 403
    assert body["error"]["code"] == "forbidden"
    status, body = tab.page.evaluate(script, [True])
    assert status == 200
    assert body["bio"] == "hello"
    # A logout without the header is refused too, so the session survives.
    status = tab.page.evaluate(
        "fetch('/api/v1/sessions/current', {method: 'DELETE'}).then(r => r.status)"
    )
    assert status == 403
    assert tab.page.evaluate("fetch('/api/v1/me').then(r => r.status)") == 200


@pytest.mark.parametrize("path", PAGES)
def test_pages_send_security_headers(base_url: str, path: str) -> None:
    response = httpx.get(base_url + path, timeout=10)
    assert response.headers["content-type"].startswith("text/html")
    csp = parse_csp(response.headers["content-security-policy"])
    for directive, value in REQUIRED_CSP.items():
        assert csp.get(directive) == value, (directive, csp)
    assert "'unsafe-inline'" not in response.headers["content-security-policy"]
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"]


def test_static_assets_are_nosniff_and_cacheable(base_url: str) -> None:
    page = httpx.get(base_url + "/", timeout=10).text
    start = page.index("/static/app.js?v=")
    url = page[start : page.index('"', start)]
    response = httpx.get(base_url + url, timeout=10)
    assert response.status_code == 200
    assert response.headers["x-content-type-options"] == "nosniff"
    assert "immutable" in response.headers["cache-control"]
    assert "javascript" in response.headers["content-type"]


def test_page_has_no_inline_script_or_style(base_url: str) -> None:
    for path in PAGES:
        html = httpx.get(base_url + path, timeout=10).text
        assert "<script>" not in html and "<style" not in html and " style=" not in html
        assert " on" + "click=" not in html
