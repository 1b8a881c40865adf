# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""Keyset cursor text in C: same bytes, checksum and errors as the twin."""

from cpython.unicode cimport PyUnicode_AsUTF8AndSize, PyUnicode_New
from libc.stdint cimport uint8_t, uint64_t
from libc.string cimport memchr, memcmp, memcpy

from gramstack.speedups._blake2b cimport _gs_blake2b

cdef extern from "Python.h":
    void *PyUnicode_DATA(object)
    Py_ssize_t PyUnicode_GET_LENGTH(object)
    int PyUnicode_KIND(object)
    int PyUnicode_1BYTE_KIND

CHECK_BYTES = 6

cdef enum:
    _CHECK = 6
    # Longest kind:key handled on the stack; longer kinds go through the twin.
    _RAW_MAX = 96
    _MAX_CURSOR = 64

cdef const char *_PERSON = b"gs-cursor"
cdef const char *_ALPHABET = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


cdef extern from *:
    """
    static signed char _gs_b64_value[256];
    """
    signed char _gs_b64_value[256]


cdef void _init_table() noexcept:
    cdef int i
    for i in range(256):
        _gs_b64_value[i] = -1
    for i in range(64):
        _gs_b64_value[<uint8_t>_ALPHABET[i]] = i


_init_table()


def encode_cursor(str kind, key):
    cdef Py_ssize_t kind_len
    cdef const char *kind_utf8 = PyUnicode_AsUTF8AndSize(kind, &kind_len)
    cdef uint8_t raw[_RAW_MAX + _CHECK]
    cdef uint8_t digits[24]
    cdef Py_ssize_t digit_count = 0, raw_len, i
    cdef uint64_t value
    if type(key) is not int or kind_len + 21 > _RAW_MAX:
        return _encode_slowly(kind, key)
    try:
        value = key
    except OverflowError:  # negative, or past 64 bits: not a key, but the twin encodes it
        return _encode_slowly(kind, key)
    while True:
        digits[digit_count] = 48 + value % 10
        digit_count += 1
        value //= 10
        if value == 0:
            break
    memcpy(raw, kind_utf8, kind_len)
    raw[kind_len] = 58  # :
    for i in range(digit_count):
        raw[kind_len + 1 + i] = digits[digit_count - 1 - i]
    raw_len = kind_len + 1 + digit_count
    _gs_blake2b(raw + raw_len, _CHECK, raw, raw_len, <const uint8_t *>_PERSON, 9)
    raw_len += _CHECK
    # urlsafe base64 without padding
    cdef Py_ssize_t out_len = (raw_len * 4 + 2) // 3
    text = PyUnicode_New(out_len, 127)
    cdef uint8_t *out = <uint8_t *>PyUnicode_DATA(text)
    cdef Py_ssize_t o = 0
    cdef unsigned int triple
    i = 0
    while i + 3 <= raw_len:
        triple = (raw[i] << 16) | (raw[i + 1] << 8) | raw[i + 2]
        out[o] = _ALPHABET[triple >> 18]
        out[o + 1] = _ALPHABET[(triple >> 12) & 63]
        out[o + 2] = _ALPHABET[(triple >> 6) & 63]
        out[o + 3] = _ALPHABET[triple & 63]
        o += 4
        i += 3
    if raw_len - i == 1:
        triple = raw[i] << 16
        out[o] = _ALPHABET[triple >> 18]
        out[o + 1] = _ALPHABET[(triple >> 12) & 63]
    elif raw_len - i == 2:
        triple = (raw[i] << 16) | (raw[i + 1] << 8)
        out[o] = _ALPHABET[triple >> 18]
        out[o + 1] = _ALPHABET[(triple >> 12) & 63]
        out[o + 2] = _ALPHABET[(triple >> 6) & 63]
    return text


def decode_cursor(str kind, str cursor):
    """The key of a cursor of list ``kind``; ValueError with the reason if it is not one."""
    cdef Py_ssize_t n = PyUnicode_GET_LENGTH(cursor)
    if n == 0 or n > _MAX_CURSOR or n % 4 == 1 or PyUnicode_KIND(cursor) != PyUnicode_1BYTE_KIND:
        raise ValueError("cursor is malformed")
    cdef const uint8_t *text = <const uint8_t *>PyUnicode_DATA(cursor)
    cdef uint8_t blob[_MAX_CURSOR]
    cdef uint8_t check[_CHECK]
    cdef Py_ssize_t i, blob_len = 0
    cdef unsigned int acc = 0
    cdef int bits = 0
    cdef signed char v
    for i in range(n):
        v = _gs_b64_value[text[i]]
        if v < 0:
            raise ValueError("cursor is malformed")
        acc = ((acc << 6) | <unsigned int>v) & 0xFFFFFF
        bits += 6
        if bits >= 8:
            bits -= 8
            blob[blob_len] = (acc >> bits) & 0xFF
            blob_len += 1
    if blob_len < _CHECK:
        raise ValueError("cursor is damaged")
    cdef Py_ssize_t raw_len = blob_len - _CHECK
    _gs_blake2b(check, _CHECK, blob, raw_len, <const uint8_t *>_PERSON, 9)
    # memcmp, not a constant-time compare: the checksum guards no secret.
    if memcmp(check, blob + raw_len, _CHECK) != 0:
        raise ValueError("cursor is damaged")
    for i in range(raw_len):
        if blob[i] >= 128:
            raise ValueError("cursor is malformed")
    cdef Py_ssize_t kind_len
    cdef const char *kind_utf8 = PyUnicode_AsUTF8AndSize(kind, &kind_len)
    if (
        raw_len < kind_len + 2
        or raw_len - kind_len - 1 > 19
        or blob[kind_len] != 58
        or memcmp(blob, kind_utf8, kind_len) != 0
        or memchr(kind_utf8, 58, kind_len) != NULL  # the twin splits at the first ":"
    ):
        raise ValueError("cursor does not belong to this list")
    cdef uint64_t value = 0
    for i in range(kind_len + 1, raw_len):
        if not 48 <= blob[i] <= 57:
            raise ValueError("cursor does not belong to this list")
        value = value * 10 + (blob[i] - 48)
    if value >= (<uint64_t>1) << 63:
        raise ValueError("cursor is out of range")
    return value


cdef object _encode_slowly(str kind, object key):
    from gramstack.speedups._cursor_py import encode_cursor

    return encode_cursor(kind, key)
