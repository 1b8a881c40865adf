"""The second part of the story (api.md additions) in two browsers, Ana on a
phone (390 px) and Bo on a desktop (1280 px): a face, a carousel with alt
text, a #tag and an @name; explore, live search, the tag page, a follow and
a follow back, the unread badge moving while nobody reloads, a comment whose
words reach the activity page, a caption edit, a new password and, at the
end, the account deleted and every trace of it answering 404."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

import httpx
from playwright.sync_api import Locator, expect

from tests.e2e.test_story import wait_for_activity
from tests.e2e.ui import DESKTOP, PASSWORD, PHONE, Tab, jpeg_bytes, screenshot, sign_up, unique_name

NEW_PASSWORD = "a brand new passphrase"
# The page asks for the unread count every 10 s and when the tab comes back;
# the inbox item itself is written by the job worker a moment after the act.
# A loaded two-core machine can stretch both.
BADGE_TIMEOUT_MS = 40_000


def _badge(tab: Tab) -> Locator:
    return tab.page.locator('.nav-link[href="/activity"] .badge')


def _expect_badge_without_reload(tab: Tab, text: str) -> None:
    """The badge changes on a page that nobody reloads and no script pokes."""
    marker = tab.page.evaluate("() => (window.__storyMarker = Math.random())")
    expect(_badge(tab)).to_have_text(text, timeout=BADGE_TIMEOUT_MS)
    expect(_badge(tab)).to_be_visible()
    assert tab.page.evaluate("() => window.__storyMarker") == marker, "the page was reloaded"


def _wait_until_listed(tab: Tab, path: str, tile: Locator, timeout: float = 60.0) -> None:
    """Explore's ranking is precomputed, so a new post joins it within seconds,
    not at once: open the page again until the tile is there."""
    deadline = time.monotonic() + timeout
    while True:
        tab.goto(path)
        expect(tab.page.locator("#grid-spinner")).to_be_hidden()
        try:
            expect(tile).to_be_visible(timeout=3_000)
            return
        except AssertionError:
            if time.monotonic() > deadline:
                raise


def test_find_follow_back_carousel_mention_edit_and_leave(
    new_tab: Callable[..., Tab], base_url: str, tmp_path: Path
) -> None:
    ana_name, bo_name = unique_name("ana"), unique_name("bo")
    ana, bo = new_tab(PHONE), new_tab(DESKTOP)
    sign_up(ana, ana_name, "Ana Lima")
    sign_up(bo, bo_name, "Bo Park")

    # Bo's feed is empty, so it offers people to follow.
    expect(bo.page.locator("#feed-empty")).to_be_visible()
    expect(bo.page.locator("#empty-suggest .person").first).to_be_visible()

    # Ana picks a profile photo: a tall one, previewed as the centre circle.
    face = tmp_path / "face.jpg"
    face.write_bytes(jpeg_bytes(900, 1200, hue=4))
    ana.goto("/settings")
    ana.page.locator("#avatar-file").set_input_files(face)
    expect(ana.page.locator("#avatar-preview")).to_be_visible()
    crop = ana.page.locator("#avatar-crop").bounding_box()
    assert crop is not None and abs(crop["width"] - crop["height"]) < 1
    screenshot(ana, "story2-avatar-preview", PHONE["width"])
    ana.page.get_by_role("button", name="Save photo").click()
    expect(ana.page.locator("#avatar-current img.avatar-img")).to_be_visible()

    # Ana posts three photos: alt text for each, the last moved to the front,
    # a caption with a tag and a mention of Bo.
    tag = unique_name("lake")
    photos = []
    for i in range(3):
        path = tmp_path / f"lake{i}.jpg"
        path.write_bytes(jpeg_bytes(1200, 900, hue=i + 1))
        photos.append(path)
    ana.goto("/new")
    expect(ana.page.get_by_text("Choose a photo", exact=True)).to_be_visible()
    ana.page.locator("#file").set_input_files(photos)
    expect(ana.page.locator("#picked .pick")).to_have_count(3)
    ana.page.get_by_label("Alt text for photo 1").fill("a blue lake")
    ana.page.get_by_role("button", name="Show photo 2").click()
    ana.page.get_by_label("Alt text for photo 2").fill("green hills")
    ana.page.get_by_role("button", name="Show photo 3").click()
    ana.page.get_by_label("Alt text for photo 3").fill("a red boat")
    ana.page.get_by_role("button", name="Move photo 3 earlier").click()
    ana.page.get_by_role("button", name="Move photo 2 earlier").click()
    expect(ana.page.get_by_label("Alt text for photo 1")).to_have_value("a red boat")
    ana.page.get_by_label("Caption").fill(f"a day at the #{tag} with @{bo_name}")
    screenshot(ana, "story2-new-carousel", PHONE["width"])
    ana.page.get_by_role("button", name="Share").click()
    ana.page.wait_for_url("**/p/*")
    media_id = ana.page.url.rsplit("/", 1)[1]

    # On her phone the carousel swipes (native scroll snap) and the dots follow.
    carousel = ana.page.locator(".pd-media .carousel")
    expect(carousel).to_have_attribute("data-count", "3")
    expect(carousel.locator(".carousel-slide img").nth(0)).to_have_attribute("alt", "a red boat")
    track = carousel.locator(".carousel-track")
    ana.page.evaluate("t => t.scrollTo({left: t.clientWidth * 2})", track.element_handle())
    expect(carousel).to_have_attribute("data-index", "2")
    expect(carousel.locator(".carousel-dot").nth(2)).to_have_class("carousel-dot carousel-dot-on")
    screenshot(ana, "story2-photo", PHONE["width"])

    # Bo's badge counts the mention while his page sits open.
    _expect_badge_without_reload(bo, "1")
    screenshot(bo, "story2-unread-badge", DESKTOP["width"])
    bo.page.locator('.nav-link[href="/activity"]').click()
    mention = bo.page.locator(".activity-mention").filter(has_text=ana_name)
    expect(mention).to_contain_text("in a caption")
    expect(_badge(bo)).to_be_hidden()

    # Bo finds the post on explore (he does not follow Ana), in the dark too.
    tile = bo.page.locator(f'#grid a[href="/p/{media_id}"]')
    _wait_until_listed(bo, "/explore", tile)
    bo.page.emulate_media(color_scheme="dark")
    screenshot(bo, "story2-explore-dark", DESKTOP["width"])
    bo.page.emulate_media(color_scheme="light")

    # Live search finds the tag; its page lists the post.
    bo.goto("/")
    search = bo.page.get_by_label("Find people")
    search.fill(f"#{tag[:-3]}")
    bo.page.get_by_role("option").filter(has_text=f"#{tag}").click()
    bo.page.wait_for_url(f"**/explore/tags/{tag}")
    expect(bo.page.locator("#tag-count")).to_have_text("1 post")
    expect(bo.page.locator(f'#grid a[href="/p/{media_id}"]')).to_be_visible()
    screenshot(bo, "story2-tag", DESKTOP["width"])

    # The post: Ana's face in the header, the photos in her order, the
    # mention a link; the arrows move the dots.
    bo.page.locator(f'#grid a[href="/p/{media_id}"]').click()
    bo.page.wait_for_url(f"**/p/{media_id}")
    carousel = bo.page.locator(".pd-media .carousel")
    expect(carousel.locator(".carousel-slide img").nth(2)).to_have_attribute("alt", "green hills")
    expect(bo.page.locator(".post-head .avatar img.avatar-img")).to_be_visible()
    caption = bo.page.locator(".pd-caption-text .caption-text")
    expect(caption.locator("a.mention-link")).to_have_attribute("href", f"/u/{bo_name}")
    carousel.get_by_role("button", name="Next photo").click()
    expect(carousel).to_have_attribute("data-index", "1")

    # Bo comments, mentioning Ana, then finds her by a prefix of her name and follows.
    box = bo.page.get_by_label("Add a comment")
    box.fill(f"@{ana_name} what a view")
    box.press("Enter")
    expect(bo.page.locator(".comment a.mention-link").first).to_have_attribute(
        "href", f"/u/{ana_name}"
    )
    bo.goto("/")
    search.fill(ana_name[:-2])
    bo.page.get_by_role("option").filter(has_text=ana_name).click()
    bo.page.wait_for_url(f"**/u/{ana_name}")
    bo.page.get_by_role("button", name="Follow", exact=True).click()
    expect(bo.page.locator(".follow-btn")).to_have_text("Following")

    # Ana's badge, on the photo page she left open: Bo's comment on her post,
    # his mention of her in it, his follow.
    _expect_badge_without_reload(ana, "3")
    screenshot(ana, "story2-unread-badge", PHONE["width"])
    ana.page.locator('.nav-link[href="/activity"]').click()
    wait_for_activity(ana, ["comment", "mention", "follow"], bo_name)
    said = ana.page.locator(".activity-comment .activity-said").filter(has_text="what a view")
    expect(said).to_have_count(1)
    expect(said.locator("a.mention-link")).to_have_attribute("href", f"/u/{ana_name}")
    expect(_badge(ana)).to_be_hidden()
    follow = ana.page.locator(".activity-follow").filter(has_text=bo_name)
    follow.get_by_role("button", name="Follow back").click()
    expect(follow.get_by_role("button", name="Following")).to_be_visible()
    screenshot(ana, "story2-activity", PHONE["width"])
    ana.page.emulate_media(color_scheme="dark")
    screenshot(ana, "story2-activity-dark", PHONE["width"])
    ana.page.emulate_media(color_scheme="light")

    # Bo's badge counts the follow back; his feed now shows the carousel.
    bo.goto("/")
    _expect_badge_without_reload(bo, "1")
    card = bo.page.locator(f'article.post[data-media-id="{media_id}"]')
    expect(card.locator(".carousel")).to_have_attribute("data-count", "3")
    expect(card.locator(".carousel-slide img").nth(1)).to_have_attribute("alt", "a blue lake")
    expect(card.locator("a.tag-link")).to_have_attribute("href", f"/explore/tags/{tag}")
    screenshot(bo, "story2-feed", DESKTOP["width"])

    # Ana edits the caption; the tag page follows.
    ana.goto(f"/p/{media_id}")
    ana.page.locator(".caption-edit").click()
    ana.page.get_by_label("Caption").fill("a day at the lake")
    ana.page.get_by_role("button", name="Save").click()
    expect(ana.page.locator(".pd-caption")).to_contain_text("Edited")
    expect(ana.page.locator(".pd-caption-text .caption-text")).to_have_text("a day at the lake")
    bo.goto(f"/explore/tags/{tag}")
    expect(bo.page.locator("#grid-empty")).to_be_visible()

    # Ana changes her password, then leaves with the new one.
    ana.goto("/settings")
    ana.page.get_by_label("Current password").fill(PASSWORD)
    ana.page.get_by_label("New password").fill(NEW_PASSWORD)
    ana.page.get_by_role("button", name="Change password").click()
    expect(ana.page.locator("#toast")).to_contain_text("Password changed", timeout=20_000)
    ana.page.locator("#delete-form").get_by_label("Password").fill(NEW_PASSWORD)
    ana.page.get_by_role("button", name="Delete my account").click()
    ana.page.locator("#confirm-dialog").get_by_role("button", name="Delete account").click()
    ana.page.wait_for_url(base_url + "/")

    # Everything of hers answers 404, in a page written for people.
    assert httpx.get(f"{base_url}/api/v1/users/{ana_name}", timeout=10).status_code == 404
    assert bo.goto(f"/u/{ana_name}").status == 404
    expect(bo.page.locator("#profile-missing")).to_be_visible()
    assert bo.goto(f"/p/{media_id}").status == 404
    expect(bo.page.locator("#post-missing")).to_be_visible()
    response = ana.goto(f"/u/{ana_name}/nothing-here")
    assert response.status == 404
    expect(ana.page.get_by_role("heading", name="Sorry, this page isn")).to_be_visible()
    ana.page.emulate_media(color_scheme="dark")
    screenshot(ana, "story2-not-found-dark", PHONE["width"])
    bo.goto("/")
    expect(bo.page.locator(f'article.post[data-media-id="{media_id}"]')).to_have_count(0)
    ana.assert_clean()
    bo.assert_clean()
