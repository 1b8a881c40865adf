# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""Keyset cursor text in C: same bytes, checksum and errors as the twin."""

from cpython.unicode cimport PyUnicode_AsUTF8AndSize, PyUnicode_New
from libc.stdint cimport uint8_t, uint64_t
from libc.string cimport memchr, memcmp, memcpy

from gramstack.speedups._blake2b cimport _gs_blake2b, _gs_blake2b_choose

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
cdef const char *_DIGIT_PAIRS = (
    b"00010203040506070809101112131415161718192021222324252627282930313233343536373839"
    b"40414243444546474849505152535455565758596061626364656667686970717273747576777879"
    b"8081828384858687888990919293949596979899"
)
# _POW10[n] = 10**n: a value below 10**n has at most n digits.
cdef uint64_t[20] _POW10 = [
    1, 10, 100, 1000, 10**4, 10**5, 10**6, 10**7, 10**8, 10**9, 10**10, 10**11, 10**12,
    10**13, 10**14, 10**15, 10**16, 10**17, 10**18, 10**19,
]
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
    cdef Py_ssize_t digit_count = 1, raw_len, i, pos
    cdef uint64_t value, pair
    if type(key) is not int or kind_len + 21 > _RAW_MAX:
        return _encode_slowly(kind, key)
    try:
        value = key
    except OverflowError:  # negative, or past 64 bits: not a key, but the twin encodes it
        return _encode_slowly(kind, key)
    # Decimal digits written from the last, two per division: the divisions
    # depend on each other, so halving their number is what counts.
    while digit_count < 20 and value >= _POW10[digit_count]:
        digit_count += 1
    memcpy(raw, kind_utf8, kind_len)
    raw[kind_len] = 58  # :
    pos = kind_len + digit_count  # the last digit
    while value >= 100:
        pair = (value % 100) * 2
        value //= 100
        raw[pos] = _DIGIT_PAIRS[pair + 1]
        raw[pos - 1] = _DIGIT_PAIRS[pair]
        pos -= 2
    if value >= 10:
        raw[pos] = _DIGIT_PAIRS[value * 2 + 1]
        raw[pos - 1] = _DIGIT_PAIRS[value * 2]
    else:
        raw[pos] = 48 + value
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


def _use_blake2b(str name="fastest"):
    """Makes this module hash with the BLAKE2b named ("avx512", "avx2", "portable"),
    or the fastest this CPU runs; the name of the one in use.

    All give the same bytes; the tests run each. ValueError if this CPU cannot run it.
    """
    cdef bytes encoded = name.encode()
    cdef const char *chosen = _gs_blake2b_choose(encoded)
    if chosen == NULL:
        raise ValueError(f"this CPU does not run BLAKE2b {name!r}")
    return chosen.decode()


_use_blake2b()
