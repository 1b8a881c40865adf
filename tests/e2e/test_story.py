"""The whole story in two browsers: sign up, follow, post, like, comment, activity."""

from __future__ import annotations

import time
from collections.abc import Callable

from playwright.sync_api import expect

from tests.e2e.ui import DESKTOP, PHONE, Tab, jpeg_bytes, screenshot, sign_up, unique_name

XSS_CAPTION = "<script>alert(1)</script>"
XSS_COMMENT = "<img src=x onerror=alert(2)>"


def wait_for_activity(tab: Tab, kinds: list[str], actor: str, timeout: float = 10.0) -> None:
    """The activity inbox is eventually consistent: reload until it shows up."""
    deadline = time.monotonic() + timeout
    while True:
        items = tab.page.locator(".activity-item").filter(has_text=actor)
        found = {
            kind for kind in kinds if items.and_(tab.page.locator(f".activity-{kind}")).count()
        }
        if found == set(kinds) or time.monotonic() > deadline:
            break
        tab.page.wait_for_timeout(500)
        tab.page.reload()
        tab.page.wait_for_selector("#activity-list:not([aria-busy])")
    assert found == set(kinds), f"activity shows {sorted(found)}, wanted {kinds}"


def test_two_users_follow_post_like_comment_and_see_activity(
    new_tab: Callable[..., Tab], tmp_path
) -> None:
    ana_name, bo_name = unique_name("ana"), unique_name("bo")
    ana, bo = new_tab(DESKTOP), new_tab(DESKTOP)

    sign_up(ana, ana_name, "Ana Lima")
    sign_up(bo, bo_name, "Bo Park")

    # Bo finds Ana from the (empty) feed and follows her.
    expect(bo.page.locator("#feed-empty")).to_be_visible()
    bo.page.get_by_label("Find people").fill(ana_name)
    bo.page.get_by_label("Find people").press("Enter")
    bo.page.wait_for_url(f"**/u/{ana_name}")
    expect(bo.page.locator("#profile-username")).to_have_text(ana_name)
    expect(bo.page.locator("#profile-avatar")).to_have_text("AN")
    bo.page.get_by_role("button", name="Follow", exact=True).click()
    expect(bo.page.locator(".follow-btn")).to_have_text("Following")
    expect(bo.page.locator("#count-followers")).to_have_text("1")

    # Ana posts a photo through the UI, with a caption that is a script.
    photo = tmp_path / "sunset.jpg"
    photo.write_bytes(jpeg_bytes(1200, 900, hue=0))
    ana.goto("/new")
    ana.page.locator("#file").set_input_files(photo)
    expect(ana.page.locator("#preview")).to_be_visible()
    assert ana.page.locator("#preview").get_attribute("src", timeout=1000).startswith("blob:")
    ana.page.get_by_label("Caption").fill(XSS_CAPTION)
    screenshot(ana, "new-post", DESKTOP["width"])
    ana.page.get_by_role("button", name="Share").click()
    ana.page.wait_for_url("**/p/*")
    media_id = ana.page.url.rsplit("/", 1)[1]
    expect(ana.page.locator(".pd-caption-text .caption-text")).to_have_text(XSS_CAPTION)

    # Bo sees it in his feed, as text.
    bo.goto("/")
    card = bo.page.locator(f'article.post[data-media-id="{media_id}"]')
    expect(card).to_be_visible()
    expect(card.locator(".caption-text")).to_have_text(XSS_CAPTION)
    assert bo.page.locator("#feed-list script").count() == 0
    image = card.locator("img.photo")
    assert image.get_attribute("width") and image.get_attribute("height")
    bo.page.wait_for_function(
        "img => img.complete && img.naturalWidth > 0", arg=image.element_handle()
    )
    assert image.get_attribute("loading") in {"lazy", "eager"}

    # Bo likes it: the heart toggles at once and the count reads 1.
    heart = card.get_by_role("button", name="Like", exact=True)
    expect(card.locator(".like-count")).to_have_text("Be the first to like this")
    heart.click()
    expect(card.locator(".heart")).to_have_attribute("aria-pressed", "true")
    expect(card.locator(".like-count")).to_have_text("1 like")
    bo.page.reload()
    expect(card.locator(".heart")).to_have_attribute("aria-pressed", "true")
    expect(card.locator(".like-count")).to_have_text("1 like")

    # Bo comments on the photo page; the comment is text too.
    card.get_by_role("link", name="Add a comment…").click()
    bo.page.wait_for_url(f"**/p/{media_id}#comment")
    comment_box = bo.page.get_by_label("Add a comment")
    expect(comment_box).to_be_focused()
    comment_box.fill(XSS_COMMENT)
    comment_box.press("Enter")
    mine = bo.page.locator(".comment").filter(has_text=bo_name)
    expect(mine.locator(".text")).to_have_text(XSS_COMMENT)
    assert bo.page.locator("#comments img[src='x']").count() == 0
    bo.page.reload()
    expect(mine.locator(".text")).to_have_text(XSS_COMMENT)
    expect(bo.page.locator(".like-count")).to_have_text("1 like")

    # The likers list names Bo.
    bo.page.locator(".like-count").click()
    expect(bo.page.locator("#people-list")).to_contain_text(bo_name)
    screenshot(bo, "likers", DESKTOP["width"])
    bo.page.keyboard.press("Escape")

    # Ana sees the follow, the like and the comment in her activity.
    ana.goto("/activity")
    wait_for_activity(ana, ["follow", "like", "comment"], bo_name)

    # Pictures of the result at phone and desktop widths.
    ana.api_post_photo("Morning at the lake", hue=1)
    ana.api_post_photo("Green hills", hue=2, size=(900, 1200))
    ana.api_post_photo("Last light", hue=3)
    for viewport in (PHONE, DESKTOP):
        bo.page.set_viewport_size(viewport)
        for name, path in (
            ("feed", "/"),
            ("profile", f"/u/{ana_name}"),
            ("photo", f"/p/{media_id}"),
        ):
            bo.goto(path)
            bo.page.wait_for_load_state("networkidle")
            if name == "feed":
                expect(bo.page.locator("article.post").first).to_be_visible()
            width = bo.page.evaluate("document.documentElement.scrollWidth")
            assert width <= viewport["width"], f"{name} scrolls sideways at {viewport}"
            screenshot(bo, name, viewport["width"])
    ana.page.set_viewport_size(PHONE)
    ana.goto("/activity")
    ana.page.wait_for_load_state("networkidle")
    screenshot(ana, "activity", PHONE["width"])

    ana.assert_clean()
    bo.assert_clean()
