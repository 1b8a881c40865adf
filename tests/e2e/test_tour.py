"""Every page at phone and desktop width, light and dark: it fits the
screen, runs without script or CSP errors, and leaves a screenshot in
tests/e2e/screenshots/ (name-width.png, name-dark-width.png)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from playwright.sync_api import expect

from tests.e2e.ui import DESKTOP, PHONE, Tab, screenshot, sign_up, unique_name


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["phone", "desktop"])
def test_every_page_in_light_and_dark(
    new_tab: Callable[..., Tab], viewport: dict[str, int]
) -> None:
    tab = new_tab(viewport)
    name = unique_name("tour")
    sign_up(tab, name, full_name="Tour Guide")
    tag = unique_name("tour")
    media = tab.api_post_photo(f"a view of the bay #{tag}", hue=3)
    pages = [
        ("feed", "/", "#feed-list article"),
        ("explore-page", "/explore", "#search-input"),
        ("tag-page", f"/explore/tags/{tag}", f'#grid a[href="/p/{media["id"]}"]'),
        ("profile-page", f"/u/{name}", f'#grid a[href="/p/{media["id"]}"]'),
        ("photo-page", f"/p/{media['id']}", ".pd-caption-text a.tag-link"),
        ("new-page", "/new", "#file"),
        ("settings-page", "/settings", "#delete-form"),
        ("activity-page", "/activity", "#activity-title"),
        ("not-found-page", "/no/such/page", "h1"),
    ]
    for scheme in ("light", "dark"):
        tab.page.emulate_media(color_scheme=scheme)
        for shot, path, ready in pages:
            tab.goto(path)
            expect(tab.page.locator(ready).first).to_be_attached()
            tab.page.wait_for_load_state("networkidle")
            width = tab.page.evaluate("document.documentElement.scrollWidth")
            assert width <= viewport["width"], f"{path} scrolls sideways ({scheme})"
            background = tab.page.evaluate("getComputedStyle(document.body).backgroundColor")
            dark = background in ("rgb(0, 0, 0)",)
            assert dark == (scheme == "dark"), (path, scheme, background)
            suffix = "-dark" if scheme == "dark" else ""
            screenshot(tab, shot + suffix, viewport["width"])
    tab.assert_clean()
