"""Which token a request presents: read from the raw ASGI headers as
Starlette's ``request.headers`` would (first Authorization header wins),
else the session cookie."""

from __future__ import annotations

import pytest
from starlette.requests import Request

from gramstack.api.auth import optional_viewer, presented_token, require_viewer
from gramstack.domain.errors import Unauthorized


def _request(*headers: tuple[bytes, bytes]) -> Request:
    return Request({"type": "http", "method": "GET", "headers": list(headers)})


def test_the_bearer_token_is_the_first_authorization_header() -> None:
    request = _request(
        (b"host", b"x"),
        (b"authorization", b"bearer  tok-1 "),
        (b"authorization", b"Bearer tok-2"),
    )
    assert presented_token(request) == ("tok-1", False)
    assert request.headers.get("authorization") == "bearer  tok-1 "


@pytest.mark.parametrize("value", [b"Basic abc", b"Bearer", b"Bearer   ", b"token"])
def test_an_authorization_header_that_is_not_a_bearer_token_is_refused(value: bytes) -> None:
    with pytest.raises(Unauthorized):
        presented_token(_request((b"authorization", value)))


def test_the_cookie_is_used_only_without_an_authorization_header() -> None:
    cookie = (b"cookie", b"gs_session=from-cookie; gs_csrf=c")
    assert presented_token(_request(cookie)) == ("from-cookie", True)
    assert presented_token(_request(cookie, (b"authorization", b"Bearer h"))) == ("h", False)
    assert presented_token(_request((b"host", b"x"))) == (None, False)


def test_a_latin_1_header_decodes_as_starlette_decodes_it() -> None:
    request = _request((b"authorization", "Bearer é".encode("latin-1")))
    assert presented_token(request) == ("é", False)


def test_the_viewer_set_on_request_state_is_read_back() -> None:
    request = _request()
    assert optional_viewer(request) is None
    with pytest.raises(Unauthorized):
        require_viewer(request)
    request.state.viewer = None  # an anonymous call to an optional endpoint
    assert optional_viewer(request) is None
    request.state.viewer = 42
    assert optional_viewer(request) == require_viewer(request) == 42
