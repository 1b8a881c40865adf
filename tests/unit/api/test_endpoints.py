"""The endpoint table: what it generates, and the document it states."""

from __future__ import annotations

import re
from typing import Any

import pytest
from starlette.requests import Request

from gramstack.api.app import ALL_ENDPOINTS
from gramstack.api.auth import require_viewer
from gramstack.api.handlers import RENDITIONS
from gramstack.api.openapi import openapi_document
from gramstack.api.routes import ENDPOINTS
from gramstack.domain import media
from gramstack.domain.errors import Unauthorized


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    return openapi_document(ALL_ENDPOINTS)


def _responses(document: dict[str, Any], method: str, path: str) -> set[str]:
    return set(document["paths"][path][method]["responses"])


def test_every_row_is_one_documented_operation(document: dict[str, Any]) -> None:
    rows = {(e.method.lower(), e.path) for e in ALL_ENDPOINTS}
    assert len(rows) == len(ALL_ENDPOINTS)
    documented = {(m, p) for p, item in document["paths"].items() for m in item}
    assert documented == rows


def test_statuses_follow_from_the_declaration(document: dict[str, Any]) -> None:
    # A public read: a bad token is 401 (so it is documented), no CSRF 403.
    assert _responses(document, "get", "/api/v1/users/{username}") == {
        "200",
        "401",
        "404",
        "500",
        "503",
        "504",
    }
    signup = document["paths"]["/api/v1/accounts"]["post"]["responses"]
    assert {"201", "400", "409", "413", "422", "429"} <= set(signup)
    assert "401" not in signup
    assert signup["429"]["headers"]["Retry-After"]["required"] is True
    assert "400" in _responses(document, "get", "/api/v1/feed")  # limit and cursor
    assert "403" in _responses(document, "delete", "/api/v1/media/{id}")


def test_page_parameters_state_their_format(document: dict[str, Any]) -> None:
    params = {
        p["name"]: p["schema"] for p in document["paths"]["/api/v1/feed"]["get"]["parameters"]
    }
    assert params["limit"] == {"type": "integer", "minimum": 1, "maximum": 100, "default": 20}
    assert params["cursor"]["pattern"] == "^[A-Za-z0-9_-]{1,64}$"  # never empty


def test_request_schemas_state_the_enforced_rules(document: dict[str, Any]) -> None:
    schemas = document["components"]["schemas"]
    signup = schemas["SignUp"]
    assert signup["additionalProperties"] is False
    assert signup["required"] == ["username", "password"]
    assert signup["properties"]["password"]["minLength"] == 8
    assert signup["properties"]["password"]["maxLength"] == 128
    username = signup["properties"]["username"]
    assert (username["minLength"], username["maxLength"]) == (1, 30)
    # api.md's rule: a letter or digit, no leading or trailing '.', no "..".
    for bad in (".", "..", "...", "a.", ".a", "a..b", "___", "a b"):
        assert not re.search(username["pattern"], bad), bad
    for good in ("a", "Ana", "a.b", "_a_", "a_b.c_", "_.a", "0"):
        assert re.search(username["pattern"], good), good
    upload = schemas["Upload"]["properties"]["file"]
    assert upload["format"] == "binary" and upload["minLength"] == 1
    assert "contentEncoding" not in upload


def test_renditions_are_the_domains() -> None:
    assert {media.THUMBNAIL, media.STANDARD} == RENDITIONS


def test_auth_is_declared_not_asserted() -> None:
    required = {e.handler.__name__ for e in ENDPOINTS if e.auth == "required"}
    assert {"home_feed", "post_media", "delete_media", "like", "unlike"} <= required
    request = Request({"type": "http", "method": "GET", "headers": [], "state": {}})
    with pytest.raises(Unauthorized):
        require_viewer(request)
