"""Opaque keyset cursors.

A cursor names the sort key of the last item handed out, never an offset:
inserting or deleting items between two page requests cannot shift the
window, so no item is returned twice or skipped. The cursor also names the
list it belongs to, so one list's cursor is refused by another.
"""

from __future__ import annotations

from gramstack.domain.errors import InvalidCursor, InvalidRequest
from gramstack.domain.models import PageRequest
from gramstack.speedups.cursor import decode_cursor as _decode_cursor
from gramstack.speedups.cursor import encode_cursor as encode_cursor

DEFAULT_LIMIT = 20
MAX_LIMIT = 100
MAX_CURSOR_LENGTH = 64
# What a request without ``limit`` or ``cursor`` asks for (most requests):
# one shared, immutable value.
FIRST_PAGE = PageRequest(limit=DEFAULT_LIMIT, after=None)


def decode_cursor(kind: str, cursor: str) -> int:
    if not 0 < len(cursor) <= MAX_CURSOR_LENGTH:
        raise InvalidCursor("cursor is malformed")
    try:
        return _decode_cursor(kind, cursor)
    except ValueError as error:
        raise InvalidCursor(str(error)) from None


def parse_page_request(kind: str, limit: str | None, cursor: str | None) -> PageRequest:
    if limit is None and cursor is None:
        return FIRST_PAGE
    if limit is None:
        size = DEFAULT_LIMIT
    else:
        if not (limit.isascii() and limit.isdecimal()) or len(limit) > 4:
            raise InvalidRequest("limit must be an integer from 1 to 100")
        size = int(limit)
        if not 1 <= size <= MAX_LIMIT:
            raise InvalidRequest("limit must be an integer from 1 to 100")
    after = None if cursor is None else decode_cursor(kind, cursor)
    return PageRequest(limit=size, after=after)
