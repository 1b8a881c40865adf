"""The pages check uploads against this server's settings, not the defaults:
a server started with smaller limits is followed by its pages."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, expect

from tests.e2e.ui import DESKTOP, Tab, jpeg_bytes, noise_png, open_tab, sign_up, unique_name
from tests.support.server import ServerProcess, start_server

MAX_BYTES = 300 * 1024
MAX_PIXELS = 2_000_000


@pytest.fixture(scope="module")
def small_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    server = start_server(
        tmp_path_factory.mktemp("small-limits"),
        env={
            "GRAMSTACK_MAX_UPLOAD_BYTES": str(MAX_BYTES),
            "GRAMSTACK_MAX_IMAGE_PIXELS": str(MAX_PIXELS),
        },
    )
    yield server
    assert server.stop() == 0, server.log()


def test_pages_take_the_upload_limits_from_the_servers_settings(
    browser: Browser, small_server: ServerProcess, tmp_path: Path
) -> None:
    tab: Tab = open_tab(browser, str(small_server.base_url), DESKTOP)
    try:
        sign_up(tab, unique_name("limits"))
        uploads: list[str] = []
        tab.page.on(
            "request", lambda r: uploads.append(r.url) if r.url.endswith("/api/v1/media") else None
        )
        tab.goto("/new")
        limits = json.loads(tab.page.evaluate("document.body.dataset.limits"))
        assert limits["max_upload_bytes"] == MAX_BYTES
        assert limits["max_image_pixels"] == MAX_PIXELS
        assert tab.page.evaluate("GS.limits.max_photos") == 10
        expect(
            tab.page.get_by_text("Up to 10 photos: JPEG, PNG or WebP, each up to 300 KB.")
        ).to_be_visible()
        expect(tab.page.get_by_label("Caption")).to_have_attribute("maxlength", "2200")

        # Over this server's byte limit (far under the default 20 MB).
        big = tmp_path / "big.png"
        big.write_bytes(noise_png(400, 400))
        size_kb = int(big.stat().st_size / 1024 + 0.5)  # as toFixed(0) rounds
        tab.page.locator("#file").set_input_files(big)
        expect(tab.page.get_by_role("alert")).to_have_text(
            f"\u201cbig.png\u201d is {size_kb} KB."
            " Photos can be up to 300 KB; choose a smaller one."
        )
        # Over its pixel limit (the default allows 50 megapixels).
        wide = tmp_path / "wide.jpg"
        wide.write_bytes(jpeg_bytes(2000, 1500))
        assert wide.stat().st_size < MAX_BYTES
        tab.page.locator("#file").set_input_files(wide)
        expect(tab.page.get_by_role("alert")).to_have_text(
            "\u201cwide.jpg\u201d has 3 megapixels. Photos can have up to 2 megapixels;"
            " choose a smaller one."
        )
        expect(tab.page.get_by_role("button", name="Share")).to_be_disabled()
        assert uploads == []

        # The server's refusal, said to a person with this server's numbers.
        response = tab.context.request.post(
            str(small_server.base_url) + "/api/v1/media",
            multipart={
                "file": {"name": "wide.jpg", "mimeType": "image/jpeg", "buffer": wide.read_bytes()}
            },
            headers={"X-CSRF-Token": tab.csrf()},
        )
        assert response.status == 413
        error = response.json()["error"]
        said = tab.page.evaluate("e => GS.messageForPeople(413, e.code, e.message)", error)
        assert said == "This photo is too large. Photos can be up to 300 KB and 2 megapixels."

        # The profile photo follows the same limit.
        tab.goto("/settings")
        tab.page.locator("#avatar-file").set_input_files(big)
        expect(tab.page.locator("#avatar-error")).to_have_text(
            "\u201cbig.png\u201d is larger than 300 KB. Choose a smaller photo."
        )
        tab.assert_clean()
    finally:
        tab.context.close()
