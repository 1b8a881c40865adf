"""Helpers for the browser tests: users, pages that record trouble, images."""

from __future__ import annotations

import io
import math
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PIL import Image, ImageDraw
from playwright.sync_api import Browser, BrowserContext, ConsoleMessage, Dialog, Page, expect

PASSWORD = "correct horse battery"
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}
SCREENSHOTS = Path(__file__).parent / "screenshots"


def unique_name(prefix: str) -> str:
    return f"{prefix}_{secrets.randbelow(10**9):09d}"


def jpeg_bytes(width: int = 1200, height: int = 900, hue: int = 0) -> bytes:
    """A real photo-like JPEG: a sunset gradient with a sun and hills."""
    palettes = [
        ((255, 183, 94), (214, 36, 110), (60, 20, 90)),
        ((120, 200, 255), (40, 90, 200), (10, 40, 80)),
        ((190, 240, 170), (30, 150, 120), (10, 60, 50)),
        ((255, 220, 150), (240, 120, 60), (110, 40, 30)),
        ((230, 190, 255), (120, 70, 200), (40, 20, 80)),
    ]
    top, middle, bottom = palettes[hue % len(palettes)]
    image = Image.new("RGB", (width, height))
    draw = ImageDraw.Draw(image)
    for y in range(height):
        t = y / max(1, height - 1)
        a, b, u = (top, middle, t * 2) if t < 0.5 else (middle, bottom, (t - 0.5) * 2)
        draw.line([(0, y), (width, y)], fill=tuple(int(a[i] + (b[i] - a[i]) * u) for i in range(3)))
    radius = min(width, height) // 6
    cx, cy = width * (0.3 + 0.1 * (hue % 4)), height * 0.45
    draw.ellipse([cx - radius, cy - radius, cx + radius, cy + radius], fill=(255, 240, 200))
    for layer in range(3):
        shade = tuple(max(0, c - 40 * (layer + 1)) for c in bottom)
        base = height * (0.62 + 0.1 * layer)
        points = [(0, height)]
        for x in range(0, width + 40, 40):
            points.append((x, base - 40 * math.sin(x / (90 + 30 * layer) + hue + layer)))
        points.append((width, height))
        draw.polygon(points, fill=shade)
    out = io.BytesIO()
    image.save(out, "JPEG", quality=85)
    return out.getvalue()


def noise_png(width: int, height: int) -> bytes:
    """A PNG that does not compress: big enough to watch an upload progress."""
    image = Image.frombytes("RGB", (width, height), secrets.token_bytes(width * height * 3))
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


@dataclass
class Tab:
    """A page in its own browser context (its own cookies: one user)."""

    page: Page
    base_url: str
    dialogs: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)

    @property
    def context(self) -> BrowserContext:
        return self.page.context

    def goto(self, path: str) -> Any:
        return self.page.goto(self.base_url + path)

    def assert_clean(self) -> None:
        """No dialog fired, no script error, no CSP violation."""
        assert self.dialogs == [], self.dialogs
        assert self.page_errors == [], self.page_errors
        csp = [m for m in self.console_errors if "Content Security Policy" in m]
        assert csp == [], csp

    def csrf(self) -> str:
        cookies = {c["name"]: c["value"] for c in self.context.cookies()}
        return cookies["gs_csrf"]

    def api_post_photo(
        self, caption: str, hue: int = 0, size: tuple[int, int] = (1200, 900)
    ) -> Any:
        """Posts a photo through the API with this tab's cookie (test setup)."""
        response = self.context.request.post(
            self.base_url + "/api/v1/media",
            multipart={
                "file": {
                    "name": "photo.jpg",
                    "mimeType": "image/jpeg",
                    "buffer": jpeg_bytes(*size, hue=hue),
                },
                "caption": caption,
            },
            headers={"X-CSRF-Token": self.csrf()},
        )
        assert response.status == 201, response.text()
        return response.json()


def open_tab(browser: Browser, base_url: str, viewport: dict[str, int] = DESKTOP) -> Tab:
    context = browser.new_context(
        base_url=base_url, viewport=viewport, device_scale_factor=1, locale="en-US"
    )
    page = context.new_page()
    tab = Tab(page, base_url)

    def on_dialog(dialog: Dialog) -> None:
        tab.dialogs.append(f"{dialog.type}: {dialog.message}")
        dialog.dismiss()

    def on_console(message: ConsoleMessage) -> None:
        if message.type == "error":
            tab.console_errors.append(message.text)

    page.on("dialog", on_dialog)
    page.on("console", on_console)
    page.on("pageerror", lambda error: tab.page_errors.append(str(error)))
    return tab


def sign_up(tab: Tab, username: str, full_name: str = "") -> None:
    page = tab.page
    tab.goto("/signup")
    page.get_by_label("Username").fill(username)
    if full_name:
        page.get_by_label("Full name").fill(full_name)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign up").click()
    page.wait_for_url(tab.base_url + "/")
    expect(page.locator(".nav-profile")).to_have_attribute("href", f"/u/{username}")


def screenshot(tab: Tab, name: str, width: int) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}-{width}.png"
    tab.page.screenshot(path=str(path), full_page=False)
    return path
