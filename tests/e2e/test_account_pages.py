"""Settings, live search, suggestions, the unread badge and follow-back
(api.md, second part), in the browser."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import httpx
from playwright.sync_api import expect

from tests.e2e.ui import (
    DESKTOP,
    PASSWORD,
    PHONE,
    Tab,
    jpeg_bytes,
    screenshot,
    sign_up,
    unique_name,
)


def test_settings_avatar_profile_password_and_deletion(
    new_tab: Callable[..., Tab], base_url: str, tmp_path: Path
) -> None:
    tab = new_tab()
    name = unique_name("settings")
    sign_up(tab, name)
    tab.goto("/settings")
    expect(tab.page.get_by_role("heading", name="Settings")).to_be_visible()

    # A wide photo: the preview shows the centre square as a circle before saving.
    photo = tmp_path / "wide.jpg"
    photo.write_bytes(jpeg_bytes(1600, 900, hue=1))
    tab.page.locator("#avatar-file").set_input_files(photo)
    preview = tab.page.locator("#avatar-preview")
    expect(preview).to_be_visible()
    assert preview.evaluate("img => getComputedStyle(img).objectFit") == "cover"
    box = tab.page.locator("#avatar-crop").bounding_box()
    assert box is not None and abs(box["width"] - box["height"]) < 1
    screenshot(tab, "settings-avatar-preview", DESKTOP["width"])
    tab.page.get_by_role("button", name="Save photo").click()
    expect(tab.page.locator("#avatar-current img.avatar-img")).to_be_visible()
    expect(tab.page.locator(".nav-profile .avatar img")).to_be_visible()
    user = httpx.get(f"{base_url}/api/v1/users/{name}", timeout=10).json()
    assert user["avatar"] is not None
    # Posts show the photo too (their owner is {id, username}: the page asks the profile).
    tab.api_post_photo("with a face")
    tab.goto("/")
    expect(tab.page.locator("article.post .post-head .avatar img.avatar-img")).to_be_visible()
    tab.goto("/settings")

    # Name and bio.
    tab.page.locator("#profile-form").get_by_label("Name").fill("Settings Person")
    tab.page.locator("#profile-form").get_by_label("Bio").fill("likes #sunsets")
    tab.page.get_by_role("button", name="Save profile").click()
    expect(tab.page.locator("#toast")).to_have_text("Profile saved.")
    user = httpx.get(f"{base_url}/api/v1/users/{name}", timeout=10).json()
    assert (user["full_name"], user["bio"]) == ("Settings Person", "likes #sunsets")

    # Password: a right one logs out the other sessions.
    other = httpx.post(
        f"{base_url}/api/v1/sessions", json={"username": name, "password": PASSWORD}, timeout=10
    ).json()["token"]
    tab.page.get_by_label("New password").fill("a new long password")
    tab.page.get_by_label("Current password").fill(PASSWORD)
    tab.page.get_by_role("button", name="Change password").click()
    expect(tab.page.locator("#toast")).to_contain_text("Password changed", timeout=20_000)
    me = httpx.get(
        f"{base_url}/api/v1/me", headers={"Authorization": f"Bearer {other}"}, timeout=10
    )
    assert me.status_code == 401
    tab.page.emulate_media(color_scheme="dark")
    screenshot(tab, "settings-dark", DESKTOP["width"])
    tab.page.emulate_media(color_scheme="light")

    # Delete: asks first; cancel keeps the account, confirm removes it.
    tab.page.locator("#delete-form").get_by_label("Password").fill("a new long password")
    tab.page.get_by_role("button", name="Delete my account").click()
    dialog = tab.page.locator("#confirm-dialog")
    expect(dialog).to_be_visible()
    dialog.get_by_role("button", name="Cancel").click()
    assert httpx.get(f"{base_url}/api/v1/users/{name}", timeout=10).status_code == 200
    tab.page.get_by_role("button", name="Delete my account").click()
    dialog.get_by_role("button", name="Delete account").click()
    tab.page.wait_for_url(base_url + "/")
    assert httpx.get(f"{base_url}/api/v1/users/{name}", timeout=10).status_code == 404
    tab.assert_clean()


def test_wrong_current_password_is_said_in_words(new_tab: Callable[..., Tab]) -> None:
    tab = new_tab()
    sign_up(tab, unique_name("wrongpw"))
    tab.goto("/settings")
    tab.page.get_by_label("Current password").fill("not my password")
    tab.page.get_by_label("New password").fill("a new long password")
    tab.page.get_by_role("button", name="Change password").click()
    expect(tab.page.locator("#password-error")).to_have_text("The current password is wrong.")
    tab.assert_clean()


def test_settings_fit_a_phone(new_tab: Callable[..., Tab]) -> None:
    tab = new_tab(PHONE)
    sign_up(tab, unique_name("phoneset"))
    tab.goto("/settings")
    expect(tab.page.get_by_role("button", name="Delete my account")).to_be_attached()
    assert tab.page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    screenshot(tab, "settings", PHONE["width"])
    tab.page.emulate_media(color_scheme="dark")
    screenshot(tab, "settings-dark", PHONE["width"])
    tab.assert_clean()


XSS_NAME = '<img src=x onerror="window.__xss=1">Ana'


def test_live_search_suggestions_unread_badge_and_follow_back(
    new_tab: Callable[..., Tab],
) -> None:
    ana = new_tab()
    ana_name = unique_name("searchable")
    sign_up(ana, ana_name, full_name=XSS_NAME)
    bo = new_tab()
    sign_up(bo, unique_name("seeker"))

    # Bo's empty feed suggests people; the sidebar search finds Ana by a prefix.
    expect(bo.page.locator("#feed-empty")).to_be_visible()
    expect(bo.page.locator("#empty-suggest .person").first).to_be_visible()
    expect(
        bo.page.locator("#empty-suggest").get_by_role("button", name="Follow").first
    ).to_be_visible()
    # One list only: the sidebar's stays out of the way while the feed is empty.
    expect(bo.page.locator("#side-suggest")).to_be_hidden()
    bo.page.get_by_label("Find people").fill(ana_name[:-3])
    option = bo.page.get_by_role("option").filter(has_text=ana_name)
    expect(option).to_be_visible()
    # A name that is markup stays text.
    expect(option).to_contain_text(XSS_NAME)
    assert option.locator("img:not(.avatar-img)").count() == 0
    assert bo.page.evaluate("window.__xss") is None
    screenshot(bo, "search", DESKTOP["width"])
    bo.page.get_by_label("Find people").press("ArrowDown")
    expect(bo.page.get_by_role("option").first).to_have_attribute("aria-selected", "true")
    option.click()
    bo.page.wait_for_url(f"**/u/{ana_name}")
    bo.page.get_by_role("button", name="Follow", exact=True).click()
    expect(bo.page.locator(".follow-btn")).to_have_text("Following")

    # Ana's activity icon shows the new follower without a reload.
    badge = ana.page.locator('.nav-link[href="/activity"] .badge')
    # The inbox item is written by the job worker, a moment after the follow;
    # the page asks every 20 s, the test asks sooner (the same call).
    for _ in range(20):
        ana.page.evaluate("GS.refreshUnread()")
        ana.page.wait_for_timeout(500)
        if badge.is_visible():
            break
    expect(badge).to_have_text("1")
    screenshot(ana, "unread-badge", DESKTOP["width"])
    ana.page.locator('.nav-link[href="/activity"]').click()
    item = ana.page.locator(".activity-follow").first
    expect(item).to_contain_text("started following you.")
    expect(badge).to_be_hidden()
    item.get_by_role("button", name="Follow back").click()
    expect(item.get_by_role("button", name="Following")).to_be_visible()
    screenshot(ana, "activity", DESKTOP["width"])
    ana.goto("/")
    expect(badge).to_be_hidden()
    ana.assert_clean()
    bo.assert_clean()
