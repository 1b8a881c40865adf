"""The API's error messages reach the person using the page."""

from __future__ import annotations

import io
import secrets
from collections.abc import Callable

import httpx
from PIL import Image
from playwright.sync_api import expect

from tests.e2e.ui import DESKTOP, PASSWORD, Tab, noise_png, screenshot, sign_up, unique_name


def test_signup_with_taken_username_shows_the_api_message(
    new_tab: Callable[..., Tab], base_url: str
) -> None:
    name = unique_name("taken")
    first = httpx.post(
        base_url + "/api/v1/accounts", json={"username": name, "password": PASSWORD}, timeout=10
    )
    assert first.status_code == 201
    second = httpx.post(
        base_url + "/api/v1/accounts", json={"username": name, "password": PASSWORD}, timeout=10
    )
    assert second.status_code == 409
    message = second.json()["error"]["message"]

    tab = new_tab()
    tab.goto("/signup")
    tab.page.get_by_label("Username").fill(name.upper())
    tab.page.get_by_label("Password").fill(PASSWORD)
    tab.page.get_by_role("button", name="Sign up").click()
    alert = tab.page.get_by_role("alert")
    expect(alert).to_have_text(message)
    expect(tab.page.get_by_label("Username")).to_have_attribute("aria-invalid", "true")
    assert tab.page.url.endswith("/signup")
    assert "gs_session" not in {c["name"] for c in tab.context.cookies()}
    tab.assert_clean()


def test_login_with_wrong_password_shows_an_error(new_tab: Callable[..., Tab]) -> None:
    name = unique_name("wrong")
    tab = new_tab()
    sign_up(tab, name)
    tab.page.get_by_role("button", name="Log out").click()
    expect(tab.page.get_by_role("navigation").get_by_role("link", name="Log in")).to_be_visible()
    expect(tab.page.locator("#welcome")).to_be_visible()
    assert not {"gs_session", "gs_csrf"} & {c["name"] for c in tab.context.cookies()}
    tab.goto("/login")
    tab.page.get_by_label("Username").fill(name)
    tab.page.get_by_label("Password").fill("not the password")
    tab.page.get_by_role("button", name="Log in").click()
    expect(tab.page.get_by_role("alert")).not_to_be_empty()
    tab.page.get_by_label("Password").fill(PASSWORD)
    tab.page.get_by_role("button", name="Log in").click()
    tab.page.wait_for_url(tab.base_url + "/")
    expect(tab.page.locator(".nav-profile")).to_have_attribute("href", f"/u/{name}")
    tab.assert_clean()


def test_upload_of_a_non_image_is_refused_before_sending(new_tab: Callable[..., Tab]) -> None:
    tab = new_tab()
    sign_up(tab, unique_name("upl"))
    fake = {"name": "notes.jpg", "mimeType": "image/jpeg", "buffer": b"this is not a JPEG" * 100}
    api = tab.context.request.post(
        tab.base_url + "/api/v1/media",
        multipart={"file": fake},
        headers={"X-CSRF-Token": tab.csrf()},
    )
    assert api.status == 415

    uploads: list[str] = []
    tab.page.on("request", lambda r: uploads.append(r.url) if "/api/v1/media" in r.url else None)
    tab.goto("/new")
    tab.page.locator("#file").set_input_files(fake)
    expect(tab.page.get_by_role("alert")).to_have_text(
        "\u201cnotes.jpg\u201d isn\u2019t a photo gramstack can read."
        " Choose a JPEG, PNG or WebP image."
    )
    expect(tab.page.get_by_role("button", name="Share")).to_be_disabled()
    assert uploads == []
    tab.assert_clean()


def test_upload_the_server_refuses_shows_a_message_for_people(
    new_tab: Callable[..., Tab],
) -> None:
    """A GIF labelled as a JPEG: the browser can show it, the server refuses it (415)."""
    gif = io.BytesIO()
    Image.new("RGB", (40, 30), (200, 30, 90)).save(gif, "GIF")
    fake = {"name": "moving.jpg", "mimeType": "image/jpeg", "buffer": gif.getvalue()}
    tab = new_tab()
    sign_up(tab, unique_name("gif"))
    api = tab.context.request.post(
        tab.base_url + "/api/v1/media",
        multipart={"file": fake},
        headers={"X-CSRF-Token": tab.csrf()},
    )
    assert api.status == 415
    tab.goto("/new")
    tab.page.locator("#file").set_input_files(fake)
    tab.page.get_by_role("button", name="Share").click()
    expect(tab.page.get_by_role("alert")).to_have_text(
        "This file isn\u2019t a photo gramstack can read. Choose a JPEG, PNG or WebP image."
    )
    expect(tab.page.get_by_role("button", name="Share")).to_be_enabled()
    assert "/new" in tab.page.url
    tab.assert_clean()


def test_signed_out_visitor_is_sent_to_login_and_back(new_tab: Callable[..., Tab]) -> None:
    name = unique_name("back")
    tab = new_tab()
    sign_up(tab, name)
    tab.context.clear_cookies()
    tab.goto("/activity")
    tab.page.wait_for_url("**/login?next=%2Factivity")
    tab.page.get_by_label("Username").fill(name)
    tab.page.get_by_label("Password").fill(PASSWORD)
    tab.page.get_by_role("button", name="Log in").click()
    tab.page.wait_for_url("**/activity")
    expect(tab.page.get_by_role("heading", name="Activity")).to_be_visible()
    tab.assert_clean()


def test_upload_shows_progress_on_a_slow_link(new_tab: Callable[..., Tab], tmp_path) -> None:
    tab = new_tab()
    sign_up(tab, unique_name("slow"))
    photo = tmp_path / "big.png"
    photo.write_bytes(noise_png(700, 500))
    tab.goto("/new")
    tab.page.locator("#file").set_input_files(photo)
    cdp = tab.context.new_cdp_session(tab.page)
    cdp.send("Network.enable")
    cdp.send(
        "Network.emulateNetworkConditions",
        {"offline": False, "latency": 20, "downloadThroughput": -1, "uploadThroughput": 400_000},
    )
    tab.page.get_by_role("button", name="Share").click()
    expect(tab.page.get_by_role("button", name="Sharing…")).to_be_disabled()
    tab.page.wait_for_function(
        "() => { const bar = document.getElementById('progress');"
        " return bar.value > 0 && bar.value < 100; }"
    )
    screenshot(tab, "upload-progress", DESKTOP["width"])
    tab.page.wait_for_url("**/p/*", timeout=30_000)
    tab.assert_clean()


def test_login_next_parameter_cannot_leave_the_site(
    new_tab: Callable[..., Tab], base_url: str
) -> None:
    name = unique_name("next")
    created = httpx.post(
        base_url + "/api/v1/accounts", json={"username": name, "password": PASSWORD}, timeout=10
    )
    assert created.status_code == 201
    for evil in ("//example.com/", "/%09/example.com/", "/\\example.com/", "https://example.com/"):
        tab = new_tab()
        tab.goto("/login?next=" + evil)
        tab.page.get_by_label("Username").fill(name)
        tab.page.get_by_label("Password").fill(PASSWORD)
        tab.page.get_by_role("button", name="Log in").click()
        tab.page.wait_for_load_state()
        expect(tab.page.locator(".nav-profile")).to_have_attribute("href", f"/u/{name}")
        assert tab.page.url.startswith(base_url + "/"), (evil, tab.page.url)
        tab.context.close()


def test_upload_over_the_size_limit_is_refused_before_sending(
    new_tab: Callable[..., Tab], tmp_path
) -> None:
    tab = new_tab()
    sign_up(tab, unique_name("huge"))
    huge = tmp_path / "huge.jpg"
    huge.write_bytes(b"\xff\xd8\xff\xe0" + secrets.token_bytes(21 * 1024 * 1024))
    api = tab.context.request.post(
        tab.base_url + "/api/v1/media",
        multipart={
            "file": {"name": "huge.jpg", "mimeType": "image/jpeg", "buffer": huge.read_bytes()}
        },
        headers={"X-CSRF-Token": tab.csrf()},
    )
    assert api.status == 413
    assert api.json()["error"]["code"] == "too_large"

    uploads: list[str] = []
    tab.page.on("request", lambda r: uploads.append(r.url) if "/api/v1/media" in r.url else None)
    tab.goto("/new")
    tab.page.locator("#file").set_input_files(huge)
    expect(tab.page.get_by_role("alert")).to_have_text(
        "\u201chuge.jpg\u201d is 21.0 MB. Photos can be up to 20 MB; choose a smaller one."
    )
    expect(tab.page.get_by_role("button", name="Share")).to_be_disabled()
    assert uploads == []
    tab.assert_clean()
