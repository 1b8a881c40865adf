"""Opaque keyset cursors.

A cursor names the sort key of the last item handed out, never an offset:
inserting or deleting items between two page requests cannot shift the
window, so no item is returned twice or skipped. The cursor also names the
list it belongs to, so one list's cursor is refused by another.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac

from gramstack.domain.errors import InvalidCursor, InvalidRequest
from gramstack.domain.models import PageRequest

# A checksum, not a signature: it catches damaged or hand-edited cursors;
# a forged one could only start a keyset scan somewhere, which reveals nothing.
_CHECK_BYTES = 6
DEFAULT_LIMIT = 20
MAX_LIMIT = 100
MAX_CURSOR_LENGTH = 64


def _check(raw: bytes) -> bytes:
    return hashlib.blake2b(raw, digest_size=_CHECK_BYTES, person=b"gs-cursor").digest()


def encode_cursor(kind: str, key: int) -> str:
    raw = f"{kind}:{key}".encode()
    return base64.urlsafe_b64encode(raw + _check(raw)).rstrip(b"=").decode()


def decode_cursor(kind: str, cursor: str) -> int:
    if not 0 < len(cursor) <= MAX_CURSOR_LENGTH:
        raise InvalidCursor("cursor is malformed")
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        blob = base64.urlsafe_b64decode(padded.encode("ascii"))
        raw, check = blob[:-_CHECK_BYTES], blob[-_CHECK_BYTES:]
        if not hmac.compare_digest(check, _check(raw)):
            raise InvalidCursor("cursor is damaged")
        text = raw.decode("ascii")
    except (binascii.Error, UnicodeError, ValueError):
        raise InvalidCursor("cursor is malformed") from None
    got_kind, _, key = text.partition(":")
    if got_kind != kind or not key.isascii() or not key.isdigit() or len(key) > 19:
        raise InvalidCursor("cursor does not belong to this list")
    value = int(key)
    if value >= 1 << 63:
        raise InvalidCursor("cursor is out of range")
    return value


def parse_page_request(kind: str, limit: str | None, cursor: str | None) -> PageRequest:
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
