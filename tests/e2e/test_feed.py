"""Feed paging, keyboard use, and what the feed page costs to load."""

from __future__ import annotations

import json
from collections.abc import Callable

from playwright.sync_api import expect

from tests.e2e.ui import DESKTOP, PHONE, SCREENSHOTS, Tab, sign_up, unique_name

POSTS = 25


def feed_ids(tab: Tab) -> list[str]:
    ids: list[str] = tab.page.eval_on_selector_all(
        "article.post", "nodes => nodes.map(n => n.dataset.mediaId)"
    )
    return ids


def test_feed_scrolls_through_cursor_pages_without_repeats(
    new_tab: Callable[..., Tab],
) -> None:
    tab = new_tab(PHONE)
    sign_up(tab, unique_name("scroll"))
    posted = [tab.api_post_photo(f"post {i}", hue=i, size=(300, 240))["id"] for i in range(POSTS)]

    tab.goto("/")
    expect(tab.page.locator("article.post").first).to_be_visible()
    first_page = len(feed_ids(tab))
    assert 0 < first_page < POSTS
    for _ in range(40):
        if len(feed_ids(tab)) == POSTS and tab.page.locator("#feed-end").is_visible():
            break
        tab.page.mouse.wheel(0, 4000)
        tab.page.wait_for_timeout(150)
    ids = feed_ids(tab)
    assert ids == list(reversed(posted))
    expect(tab.page.locator("#feed-end")).to_be_visible()
    # Every image below the first is lazy and sized, so nothing jumps.
    images = tab.page.locator("article.post img.photo")
    assert images.nth(1).get_attribute("loading") == "lazy"
    for i in range(images.count()):
        assert images.nth(i).get_attribute("width") and images.nth(i).get_attribute("height")
    tab.assert_clean()


def test_like_and_comment_work_from_the_keyboard(new_tab: Callable[..., Tab]) -> None:
    tab = new_tab(DESKTOP)
    sign_up(tab, unique_name("keys"))
    media = tab.api_post_photo("keyboard only")
    tab.goto(f"/p/{media['id']}")
    heart = tab.page.locator(".pd-actions .heart")
    expect(heart).to_be_visible()
    for _ in range(40):
        tab.page.keyboard.press("Tab")
        if tab.page.evaluate("document.activeElement.classList.contains('heart')"):
            break
    else:
        raise AssertionError("the heart button is not reachable with Tab")
    outline = tab.page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert outline != "none", "focused control has no visible focus ring"
    tab.page.keyboard.press("Enter")
    expect(heart).to_have_attribute("aria-pressed", "true")
    expect(tab.page.locator(".pd-actions .like-count")).to_have_text("1 like")
    tab.page.keyboard.press("Space")
    expect(heart).to_have_attribute("aria-pressed", "false")
    expect(tab.page.locator(".pd-actions .like-count")).to_have_text("Be the first to like this")

    for _ in range(10):
        tab.page.keyboard.press("Tab")
        if tab.page.evaluate("document.activeElement.id") == "comment-input":
            break
    tab.page.keyboard.type("typed, not clicked")
    tab.page.keyboard.press("Enter")
    expect(tab.page.locator(".comment .text")).to_have_text("typed, not clicked")
    # Delete my own comment.
    tab.page.get_by_role("button", name="Delete comment").click()
    expect(tab.page.locator(".comment")).to_have_count(0)
    tab.page.reload()
    expect(tab.page.locator(".pd-actions .like-count")).to_be_visible()
    expect(tab.page.locator(".comment")).to_have_count(0)
    tab.assert_clean()


def test_feed_page_weight_and_first_render(new_tab: Callable[..., Tab]) -> None:
    """Cold load of a feed of ten photos; the numbers go to screenshots/feed-perf.json."""
    setup = new_tab(DESKTOP)
    name = unique_name("perf")
    sign_up(setup, name)
    for i in range(10):
        setup.api_post_photo(f"photo {i}", hue=i)
    state = setup.context.storage_state()

    results = {}
    for label, viewport in (("desktop", DESKTOP), ("phone", PHONE)):
        tab = new_tab(viewport)
        tab.context.add_cookies(state["cookies"])
        tab.goto("/")
        expect(tab.page.locator("article.post").first).to_be_visible()
        tab.page.wait_for_load_state("networkidle")
        metrics = tab.page.evaluate(
            """async () => {
            const lcp = await new Promise(resolve => {
                new PerformanceObserver(list => {
                    const entries = list.getEntries();
                    resolve(entries[entries.length - 1].startTime);
                }).observe({type: "largest-contentful-paint", buffered: true});
                setTimeout(() => resolve(null), 1000);
            });
            const nav = performance.getEntriesByType("navigation")[0];
            const resources = performance.getEntriesByType("resource");
            const paint = Object.fromEntries(
                performance.getEntriesByType("paint").map(p => [p.name, p.startTime]));
            const sum = (list, key) => list.reduce((n, r) => n + (r[key] || 0), 0);
            const byType = {};
            for (const r of resources) {
                const kind = r.initiatorType;
                byType[kind] = (byType[kind] || 0) + r.transferSize;
            }
            const feed = performance.getEntriesByName("gs:feed-rendered")[0];
            return {
                requests: resources.length + 1,
                transfer_bytes: nav.transferSize + sum(resources, "transferSize"),
                decoded_bytes: nav.decodedBodySize + sum(resources, "decodedBodySize"),
                html_bytes: nav.transferSize,
                bytes_by_initiator: byType,
                ttfb_ms: nav.responseStart,
                dom_content_loaded_ms: nav.domContentLoadedEventEnd,
                load_ms: nav.loadEventEnd,
                first_paint_ms: paint["first-paint"] ?? null,
                first_contentful_paint_ms: paint["first-contentful-paint"] ?? null,
                feed_rendered_ms: feed ? feed.startTime : null,
                largest_contentful_paint_ms: lcp,
            };
        }"""
        )
        assert metrics["first_contentful_paint_ms"] is not None
        assert metrics["transfer_bytes"] > 0
        results[label] = metrics
        tab.assert_clean()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    (SCREENSHOTS / "feed-perf.json").write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results, indent=2))
