"""Form limits in the pages match the API's limits in /openapi.json, so a
field never accepts text the server will refuse (or refuses text it accepts)."""

from __future__ import annotations

from collections.abc import Callable
from html.parser import HTMLParser
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect

from tests.e2e.ui import DESKTOP, PASSWORD, PHONE, Tab, sign_up, unique_name


class _Inputs(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.by_id: dict[str, dict[str, str | None]] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag in ("input", "textarea") and found.get("id"):
            self.by_id[str(found["id"])] = found


def _inputs(base_url: str, path: str) -> dict[str, dict[str, str | None]]:
    response = httpx.get(base_url + path, timeout=10)
    assert response.status_code == 200, path
    parser = _Inputs()
    parser.feed(response.text)
    return parser.by_id


@pytest.fixture(scope="module")
def pages(base_url: str) -> dict[str, str]:
    name = unique_name("forms")
    created = httpx.post(
        base_url + "/api/v1/accounts", json={"username": name, "password": PASSWORD}, timeout=10
    )
    assert created.status_code == 201
    return {"profile": f"/u/{name}"}


FIELDS = [
    # page, input id, schema, property
    ("/signup", "full_name", "SignUp", "full_name"),
    ("/signup", "password", "SignUp", "password"),
    ("/login", "password", "SignUp", "password"),
    ("/new", "caption", "Upload", "caption"),
    ("profile", "edit-full-name", "ProfileUpdate", "full_name"),
    ("profile", "edit-bio", "ProfileUpdate", "bio"),
]


@pytest.mark.parametrize(("page", "field_id", "schema", "prop"), FIELDS)
def test_form_length_limits_match_the_api(
    base_url: str, pages: dict[str, str], page: str, field_id: str, schema: str, prop: str
) -> None:
    spec: dict[str, Any] = httpx.get(base_url + "/openapi.json", timeout=10).json()
    rules = spec["components"]["schemas"][schema]["properties"][prop]
    field = _inputs(base_url, pages.get(page, page))[field_id]
    assert field.get("maxlength") == str(rules["maxLength"])
    if page == "/signup" and "minLength" in rules:
        assert field.get("minlength") == str(rules["minLength"])


def test_upload_button_speaks_to_the_device(new_tab: Callable[..., Tab]) -> None:
    for viewport, shown, hidden in (
        (PHONE, "Choose a photo", "Select from computer"),
        (DESKTOP, "Select from computer", "Choose a photo"),
    ):
        tab = new_tab(viewport)
        sign_up(tab, unique_name("device"))
        tab.goto("/new")
        expect(tab.page.get_by_text(shown, exact=True)).to_be_visible()
        expect(tab.page.get_by_text(hidden, exact=True)).to_be_hidden()
        tab.assert_clean()
