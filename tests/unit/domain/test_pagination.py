from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gramstack.domain.errors import InvalidCursor, InvalidRequest
from gramstack.domain.pagination import (
    DEFAULT_LIMIT,
    decode_cursor,
    encode_cursor,
    parse_page_request,
)


@given(st.integers(min_value=0, max_value=2**63 - 1))
def test_cursor_round_trips(key: int) -> None:
    assert decode_cursor("feed", encode_cursor("feed", key)) == key


@given(st.text(max_size=80))
def test_any_string_either_decodes_or_is_invalid_cursor(raw: str) -> None:
    """No other exception escapes (it would be a 500), and what decodes is a valid key."""
    try:
        key = decode_cursor("feed", raw)
    except InvalidCursor:
        return
    assert 0 <= key < 2**63


def test_a_cursor_of_another_list_is_refused() -> None:
    with pytest.raises(InvalidCursor):
        decode_cursor("likers", encode_cursor("feed", 42))


@pytest.mark.parametrize("limit", ["0", "101", "-1", "abc", "1.5", "", "99999"])
def test_bad_limits_are_invalid_requests(limit: str) -> None:
    with pytest.raises(InvalidRequest):
        parse_page_request("feed", limit, None)


def test_defaults() -> None:
    page = parse_page_request("feed", None, None)
    assert (page.limit, page.after) == (20, None)
    assert parse_page_request("feed", "100", encode_cursor("feed", 7)).after == 7


def test_a_request_without_limit_or_cursor_is_the_shared_first_page() -> None:
    first = parse_page_request("feed", None, None)
    assert first is parse_page_request("likers", None, None)
    assert (first.limit, first.after) == (DEFAULT_LIMIT, None)
    assert parse_page_request("feed", "20", None) == first
    assert parse_page_request("feed", None, encode_cursor("feed", 9)).limit == DEFAULT_LIMIT
