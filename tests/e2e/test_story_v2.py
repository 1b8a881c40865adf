"""The second part of the story (api.md additions) in two browsers, a phone
and a desktop: find someone, follow back, set a photo, post a carousel with
a tag and a mention, comment, see it in activity, edit, delete the account."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import httpx
from playwright.sync_api import expect

from tests.e2e.test_story import wait_for_activity
from tests.e2e.ui import DESKTOP, PASSWORD, PHONE, Tab, jpeg_bytes, screenshot, sign_up, unique_name


def _wait_for_badge(tab: Tab, text: str) -> None:
    badge = tab.page.locator('.nav-link[href="/activity"] .badge')
    for _ in range(30):
        tab.page.evaluate("GS.refreshUnread()")
        tab.page.wait_for_timeout(500)
        if badge.is_visible() and badge.text_content() == text:
            break
    expect(badge).to_have_text(text)


def test_find_follow_back_carousel_mention_edit_and_leave(
    new_tab: Callable[..., Tab], base_url: str, tmp_path: Path
) -> None:
    ana_name, bo_name = unique_name("ana"), unique_name("bo")
    ana, bo = new_tab(PHONE), new_tab(DESKTOP)
    sign_up(ana, ana_name, "Ana Lima")
    sign_up(bo, bo_name, "Bo Park")

    # Bo finds Ana by a prefix of her name, live, and follows her.
    bo.page.get_by_label("Find people").fill(ana_name[:-2])
    bo.page.get_by_role("option").filter(has_text=ana_name).click()
    bo.page.wait_for_url(f"**/u/{ana_name}")
    bo.page.get_by_role("button", name="Follow", exact=True).click()
    expect(bo.page.locator(".follow-btn")).to_have_text("Following")

    # Ana's activity icon counts it; she follows back from the activity page.
    _wait_for_badge(ana, "1")
    ana.page.locator('.nav-link[href="/activity"]').click()
    follow = ana.page.locator(".activity-follow").filter(has_text=bo_name)
    follow.get_by_role("button", name="Follow back").click()
    expect(follow.get_by_role("button", name="Following")).to_be_visible()
    expect(ana.page.locator('.nav-link[href="/activity"] .badge')).to_be_hidden()

    # Ana sets a profile photo.
    face = tmp_path / "face.jpg"
    face.write_bytes(jpeg_bytes(900, 1200, hue=4))
    ana.goto("/settings")
    ana.page.locator("#avatar-file").set_input_files(face)
    ana.page.get_by_role("button", name="Save photo").click()
    expect(ana.page.locator("#avatar-current img.avatar-img")).to_be_visible()

    # Ana posts two photos with alt text, a tag and a mention of Bo.
    tag = unique_name("lake")
    photos = []
    for i in range(2):
        path = tmp_path / f"lake{i}.jpg"
        path.write_bytes(jpeg_bytes(1200, 900, hue=i + 1))
        photos.append(path)
    ana.goto("/new")
    expect(ana.page.get_by_text("Choose a photo", exact=True)).to_be_visible()
    ana.page.locator("#file").set_input_files(photos)
    ana.page.get_by_label("Alt text for photo 1").fill("a blue lake")
    ana.page.get_by_role("button", name="Show photo 2").click()
    ana.page.get_by_label("Alt text for photo 2").fill("green hills")
    ana.page.get_by_label("Caption").fill(f"a day at the #{tag} with @{bo_name}")
    ana.page.get_by_role("button", name="Share").click()
    ana.page.wait_for_url("**/p/*")
    media_id = ana.page.url.rsplit("/", 1)[1]

    # Bo's feed shows the carousel, with Ana's photo and links in the caption.
    bo.goto("/")
    card = bo.page.locator(f'article.post[data-media-id="{media_id}"]')
    expect(card.locator(".carousel")).to_have_attribute("data-count", "2")
    expect(card.locator(".carousel-slide img").nth(1)).to_have_attribute("alt", "green hills")
    expect(card.locator(".post-head .avatar img.avatar-img")).to_be_visible()
    expect(card.locator("a.mention-link")).to_have_attribute("href", f"/u/{bo_name}")
    screenshot(bo, "story2-feed", DESKTOP["width"])

    # The mention reached Bo's activity.
    _wait_for_badge(bo, "1")
    bo.goto("/activity")
    wait_for_activity(bo, ["mention"], ana_name)

    # Bo opens the tag and comments, mentioning Ana.
    bo.goto(f"/p/{media_id}")
    bo.page.locator(".pd-caption-text a.tag-link").click()
    bo.page.wait_for_url(f"**/explore/tags/{tag}")
    expect(bo.page.locator(f'#grid a[href="/p/{media_id}"]')).to_be_visible()
    bo.goto(f"/p/{media_id}")
    box = bo.page.get_by_label("Add a comment")
    box.fill(f"@{ana_name} what a view")
    box.press("Enter")
    expect(bo.page.locator(".comment a.mention-link").first).to_have_attribute(
        "href", f"/u/{ana_name}"
    )

    # Ana sees the comment's words in her activity.
    ana.goto("/activity")
    wait_for_activity(ana, ["comment", "mention"], bo_name)
    expect(ana.page.locator(".activity-comment .activity-said").first).to_contain_text(
        "what a view"
    )
    screenshot(ana, "story2-activity", PHONE["width"])

    # Ana edits the caption; the tag page follows.
    ana.goto(f"/p/{media_id}")
    ana.page.locator(".caption-edit").click()
    ana.page.get_by_label("Caption").fill("a day at the lake")
    ana.page.get_by_role("button", name="Save").click()
    expect(ana.page.locator(".pd-caption")).to_contain_text("Edited")

    # Ana leaves: her account and post are gone for Bo.
    ana.goto("/settings")
    ana.page.locator("#delete-form").get_by_label("Password").fill(PASSWORD)
    ana.page.get_by_role("button", name="Delete my account").click()
    ana.page.locator("#confirm-dialog").get_by_role("button", name="Delete account").click()
    ana.page.wait_for_url(base_url + "/")
    assert httpx.get(f"{base_url}/api/v1/users/{ana_name}", timeout=10).status_code == 404
    assert bo.goto(f"/u/{ana_name}").status == 404
    assert bo.goto(f"/p/{media_id}").status == 404
    bo.goto("/")
    expect(bo.page.locator(f'article.post[data-media-id="{media_id}"]')).to_have_count(0)
    ana.assert_clean()
    bo.assert_clean()
