"""Carousels, captions with #tags and @names, caption edits, tag pages,
explore and the sizes a grid loads (api.md, second part), in the browser."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from playwright.sync_api import expect

from tests.e2e.ui import DESKTOP, PHONE, Tab, jpeg_bytes, screenshot, sign_up, unique_name


def _photos(tmp_path: Path, count: int) -> list[Path]:
    paths = []
    for i in range(count):
        path = tmp_path / f"photo{i}.jpg"
        path.write_bytes(jpeg_bytes(1200, 900, hue=i))
        paths.append(path)
    return paths


def test_carousel_upload_reorder_alt_text_and_swipe(
    new_tab: Callable[..., Tab], tmp_path: Path
) -> None:
    ana = new_tab()
    ana_name = unique_name("carousel")
    sign_up(ana, ana_name)
    tag = unique_name("trip")
    ana.goto("/new")
    expect(ana.page.get_by_text("Select from computer")).to_be_visible()
    ana.page.locator("#file").set_input_files(_photos(tmp_path, 3))
    picked = ana.page.locator("#picked .pick")
    expect(picked).to_have_count(3)
    # Alt text for the first photo, then move the third to the front and describe it.
    ana.page.get_by_label("Alt text for photo 1").fill("a pink sunset")
    ana.page.get_by_role("button", name="Show photo 3").click()
    ana.page.get_by_label("Alt text for photo 3").fill("a green valley")
    ana.page.get_by_role("button", name="Move photo 3 earlier").click()
    ana.page.get_by_role("button", name="Move photo 2 earlier").click()
    expect(ana.page.get_by_label("Alt text for photo 1")).to_have_value("a green valley")
    ana.page.get_by_label("Caption").fill(f"three views #{tag} with @{ana_name}")
    screenshot(ana, "new-carousel", DESKTOP["width"])
    ana.page.get_by_role("button", name="Share").click()
    ana.page.wait_for_url("**/p/*")
    media_id = ana.page.url.rsplit("/", 1)[1]

    carousel = ana.page.locator(".pd-media .carousel")
    expect(carousel).to_have_attribute("data-count", "3")
    slides = carousel.locator(".carousel-slide img")
    expect(slides.nth(0)).to_have_attribute("alt", "a green valley")
    expect(slides.nth(1)).to_have_attribute("alt", "a pink sunset")
    expect(carousel.locator(".carousel-dot")).to_have_count(3)
    expect(carousel.locator(".carousel-dot-on")).to_have_count(1)
    expect(carousel).to_have_attribute("data-index", "0")
    carousel.get_by_role("button", name="Next photo").click()
    expect(carousel).to_have_attribute("data-index", "1")
    expect(carousel.locator(".carousel-dot").nth(1)).to_have_class("carousel-dot carousel-dot-on")
    screenshot(ana, "photo-carousel", DESKTOP["width"])

    # The caption's tag and mention are links.
    caption = ana.page.locator(".pd-caption-text .caption-text")
    expect(caption.locator("a.tag-link")).to_have_attribute("href", f"/explore/tags/{tag}")
    expect(caption.locator("a.mention-link")).to_have_attribute("href", f"/u/{ana_name}")

    # Edit the caption in place.
    ana.page.locator(".caption-edit").click()
    ana.page.get_by_label("Caption").fill(f"edited #{tag}")
    ana.page.get_by_role("button", name="Save").click()
    expect(caption).to_have_text(f"edited #{tag}")
    expect(ana.page.locator(".pd-caption")).to_contain_text("Edited")
    ana.goto(f"/p/{media_id}")
    expect(ana.page.locator(".pd-caption-text .caption-text")).to_have_text(f"edited #{tag}")

    # On a phone, the carousel swipes (native scroll snap) and its dots follow.
    phone = new_tab(PHONE)
    phone.goto(f"/p/{media_id}")
    track = phone.page.locator(".carousel-track")
    expect(track).to_be_visible()
    phone.page.evaluate("t => t.scrollTo({left: t.clientWidth * 2})", track.element_handle())
    expect(phone.page.locator(".carousel")).to_have_attribute("data-index", "2")
    screenshot(phone, "photo-carousel", PHONE["width"])

    # The tag page lists the post, with its count.
    ana.page.locator(".pd-caption-text a.tag-link").click()
    ana.page.wait_for_url(f"**/explore/tags/{tag}")
    expect(ana.page.locator("#tag-count")).to_have_text("1 post")
    expect(ana.page.locator(f'#grid a[href="/p/{media_id}"]')).to_be_visible()
    screenshot(ana, "tag", DESKTOP["width"])
    ana.assert_clean()
    phone.assert_clean()


def test_explore_shows_posts_of_people_not_followed(
    new_tab: Callable[..., Tab],
) -> None:
    author = new_tab()
    sign_up(author, unique_name("explorer"))
    media = author.api_post_photo("for everyone", hue=2)
    for viewport in (DESKTOP, PHONE):
        viewer = new_tab(viewport)
        sign_up(viewer, unique_name("viewer"))
        tile = viewer.page.locator(f'#grid a[href="/p/{media["id"]}"]')
        # Explore's ranking is precomputed, so a new post joins it within
        # seconds rather than at once: reload until it does.
        deadline = time.monotonic() + 30
        while True:
            viewer.goto("/explore")
            expect(viewer.page.locator("#grid-spinner")).to_be_hidden()
            if tile.count() or time.monotonic() > deadline:
                break
            viewer.page.wait_for_timeout(1000)
        expect(tile).to_be_visible()
        img = tile.locator("img")
        # A 293 px grid cell takes the medium size, a 130 px one the thumbnail,
        # never the 1080 px standard.
        viewer.page.wait_for_function(
            "img => img.complete && img.currentSrc", arg=img.element_handle()
        )
        wanted = "medium" if viewport == DESKTOP else "thumbnail"
        assert img.evaluate("img => img.currentSrc").endswith(media["images"][wanted])
        screenshot(viewer, "explore", viewport["width"])
        viewer.page.emulate_media(color_scheme="dark")
        screenshot(viewer, "explore-dark", viewport["width"])
        viewer.assert_clean()
