"""The API reference at /docs, and what a browser gets for pages that do not exist."""

from __future__ import annotations

import re
from collections.abc import Callable

import httpx
from playwright.sync_api import expect

from tests.e2e.ui import DESKTOP, PHONE, Tab, screenshot, sign_up, unique_name


def test_docs_render_every_operation_from_local_assets(
    new_tab: Callable[..., Tab], base_url: str
) -> None:
    spec = httpx.get(base_url + "/openapi.json", timeout=10).json()
    operations = sum(
        1
        for methods in spec["paths"].values()
        for m in methods
        if m in ("get", "post", "put", "patch", "delete")
    )
    tab = new_tab()
    requested: list[str] = []
    tab.page.on("request", lambda request: requested.append(request.url))
    response = tab.goto("/docs")
    assert response.status == 200
    assert "script-src 'self'" in response.headers["content-security-policy"]
    blocks = tab.page.locator(".opblock")
    expect(blocks.first).to_be_visible(timeout=15_000)
    expect(blocks).to_have_count(operations)
    expect(
        tab.page.locator(".opblock-summary-path", has_text="/api/v1/media/{id}").first
    ).to_be_visible()
    # Every asset from this server: no CDN.
    assert requested and all(
        url.startswith(base_url) or url.startswith("data:") for url in requested
    ), requested
    # An operation opens and shows its responses.
    tab.page.locator(".opblock-summary", has_text="/api/v1/feed").first.click()
    expect(tab.page.locator(".responses-table").first).to_be_visible()
    screenshot(tab, "docs", DESKTOP["width"])
    tab.assert_clean()


def _luminance(css_color: str) -> float:
    """0 (black) to 1 (white) for an ``rgb(...)``/``rgba(...)`` computed colour."""
    red, green, blue = (int(part) for part in re.findall(r"\d+", css_color)[:3])
    return (0.2126 * red + 0.7152 * green + 0.0722 * blue) / 255


def test_docs_follow_a_dark_colour_scheme(new_tab: Callable[..., Tab]) -> None:
    for viewport in (DESKTOP, PHONE):
        tab = new_tab(viewport)
        tab.page.emulate_media(color_scheme="dark")
        tab.goto("/docs")
        expect(tab.page.locator(".opblock").first).to_be_visible(timeout=15_000)
        expect(tab.page.locator("html")).to_have_class(re.compile(r"\bdark-mode\b"))
        screenshot(tab, "docs-dark", viewport["width"])
        tab.page.locator(".opblock-summary", has_text="/api/v1/feed").first.click()
        expect(tab.page.locator(".responses-table").first).to_be_visible()
        screenshot(tab, "docs-dark-operation", viewport["width"])
        background = tab.page.evaluate("getComputedStyle(document.body).backgroundColor")
        title = tab.page.locator(".swagger-ui .info .title").first
        path = tab.page.locator(".opblock-summary-path").first
        assert _luminance(background) < 0.2, background
        for text in (title, path, tab.page.locator(".docs-brand")):
            color = text.evaluate("el => getComputedStyle(el).color")
            assert _luminance(color) > 0.7, color
        # Back to light, live: the reference follows the system's change.
        tab.page.emulate_media(color_scheme="light")
        expect(tab.page.locator("html")).not_to_have_class(re.compile(r"\bdark-mode\b"))
        assert (
            _luminance(tab.page.evaluate("getComputedStyle(document.body).backgroundColor")) > 0.9
        )
        tab.assert_clean()


def test_unknown_path_is_a_styled_html_404_for_browsers_and_json_for_clients(
    new_tab: Callable[..., Tab], base_url: str
) -> None:
    for viewport in (PHONE, DESKTOP):
        tab = new_tab(viewport)
        response = tab.goto("/settings/nothing-here")
        assert response.status == 404
        assert response.headers["content-type"].startswith("text/html")
        expect(tab.page.get_by_role("heading", name="Sorry, this page isn")).to_be_visible()
        expect(tab.page.get_by_role("link", name="Go back to gramstack.")).to_be_visible()
        screenshot(tab, "not-found", viewport["width"])
        tab.assert_clean()
    api = httpx.get(base_url + "/api/v1/nothing-here", headers={"Accept": "text/html"}, timeout=10)
    assert api.status_code == 404
    assert api.json() == {"error": {"code": "not_found", "message": "no such resource"}}
    plain = httpx.get(base_url + "/settings/nothing-here", timeout=10)
    assert plain.status_code == 404
    assert plain.json()["error"]["code"] == "not_found"


def test_missing_users_and_posts_answer_404_and_existing_ones_200(
    new_tab: Callable[..., Tab], base_url: str
) -> None:
    tab = new_tab()
    name = unique_name("exists")
    sign_up(tab, name)
    media = tab.api_post_photo("here")
    assert tab.goto(f"/u/{name}").status == 200
    assert tab.goto(f"/u/{name.upper()}").status == 200
    assert tab.goto(f"/p/{media['id']}").status == 200
    assert tab.goto("/u/nobody_here_404").status == 404
    expect(tab.page.locator("#profile-missing")).to_be_visible()
    assert tab.goto("/p/123").status == 404
    expect(tab.page.locator("#post-missing")).to_be_visible()
    deleted = tab.context.request.delete(
        base_url + f"/api/v1/media/{media['id']}", headers={"X-CSRF-Token": tab.csrf()}
    )
    assert deleted.status == 204
    assert tab.goto(f"/p/{media['id']}").status == 404
    tab.assert_clean()
