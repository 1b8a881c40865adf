"""Keyset cursor text: urlsafe base64 of ``kind:key`` and a BLAKE2b checksum.

A checksum, not a signature: it catches damaged or hand-edited cursors; a
forged one could only start a keyset scan somewhere, which reveals nothing.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re

CHECK_BYTES = 6
_URLSAFE = re.compile(r"[A-Za-z0-9_-]{1,64}")


def _check(raw: bytes) -> bytes:
    return hashlib.blake2b(raw, digest_size=CHECK_BYTES, person=b"gs-cursor").digest()


def encode_cursor(kind: str, key: int) -> str:
    raw = f"{kind}:{key}".encode()
    return base64.urlsafe_b64encode(raw + _check(raw)).rstrip(b"=").decode()


def decode_cursor(kind: str, cursor: str) -> int:
    """The key of a cursor of list ``kind``; ValueError with the reason if it is not one."""
    # Strict alphabet: b64decode would skip stray characters and accept "+/".
    if _URLSAFE.fullmatch(cursor) is None:
        raise ValueError("cursor is malformed")
    try:
        blob = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
    except binascii.Error:
        raise ValueError("cursor is malformed") from None
    raw, check = blob[:-CHECK_BYTES], blob[-CHECK_BYTES:]
    if not hmac.compare_digest(check, _check(raw)):
        raise ValueError("cursor is damaged")
    if not raw.isascii():
        raise ValueError("cursor is malformed")
    got_kind, _, key = raw.decode("ascii").partition(":")
    if got_kind != kind or not key.isdigit() or len(key) > 19:
        raise ValueError("cursor does not belong to this list")
    value = int(key)
    if value >= 1 << 63:
        raise ValueError("cursor is out of range")
    return value
