"""Signed-out pages, unknown profiles and posts, and narrow screens."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from playwright.sync_api import expect

from tests.e2e.ui import DESKTOP, PHONE, Tab, screenshot


@pytest.mark.parametrize("viewport", [PHONE, DESKTOP], ids=["phone", "desktop"])
def test_signed_out_pages_fit_the_screen(
    new_tab: Callable[..., Tab], viewport: dict[str, int]
) -> None:
    tab = new_tab(viewport)
    for name, path, heading in (
        ("welcome", "/", "Share the moments that matter."),
        ("signup", "/signup", "Sign up to see photos from your friends."),
        ("login", "/login", "Log in"),
    ):
        tab.goto(path)
        expect(tab.page.get_by_role("heading", name=heading)).to_be_attached()
        width = tab.page.evaluate("document.documentElement.scrollWidth")
        assert width <= viewport["width"], f"{path} scrolls sideways"
        screenshot(tab, name, viewport["width"])
    tab.assert_clean()


def test_unknown_profile_and_post_say_so(new_tab: Callable[..., Tab]) -> None:
    tab = new_tab()
    tab.goto("/u/nobody_here_123")
    expect(tab.page.locator("#profile-missing")).to_be_visible()
    tab.goto("/p/1")
    expect(tab.page.locator("#post-missing")).to_be_visible()
    response = tab.goto("/u/not%20a%20name")
    assert response.status == 404
    expect(tab.page.get_by_role("heading", name="Sorry, this page isn")).to_be_visible()
    tab.assert_clean()
