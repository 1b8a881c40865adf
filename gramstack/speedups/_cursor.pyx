# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""Keyset cursor text in C: same bytes, checksum and errors as the twin.

The checksum is BLAKE2b from _blake2b.h: portable C, or on x86-64 with AVX2 or
AVX-512 code vendored from https://github.com/sneves/blake2-avx2 (CC0 1.0
Universal; see vendor/blake2_avx2/), chosen at import.
"""

from cpython.unicode cimport PyUnicode_AsUTF8AndSize, PyUnicode_New
from libc.stdint cimport uint8_t, uint64_t
from libc.string cimport memchr, memcmp, memcpy

from gramstack.speedups._blake2b cimport _gs_blake2b, use_blake2b

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
cdef const char *_ALPHABET = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


cdef extern from *:
    """
    static signed char _gs_b64_value[256];
    /* The two base64 characters of each 12-bit value. */
    static unsigned char _gs_b64_pairs[4096][2];

    /* How many decimal digits v has (1 for 0). */
    static inline int _gs_decimal_digits(unsigned long long v) {
        static const unsigned long long pow10[20] = {
            1ULL, 10ULL, 100ULL, 1000ULL, 10000ULL, 100000ULL, 1000000ULL, 10000000ULL,
            100000000ULL, 1000000000ULL, 10000000000ULL, 100000000000ULL,
            1000000000000ULL, 10000000000000ULL, 100000000000000ULL,
            1000000000000000ULL, 10000000000000000ULL, 100000000000000000ULL,
            1000000000000000000ULL, 10000000000000000000ULL};
        int t;
        v |= 1; /* never crosses a power of ten, and makes 0 count as 1 */
    #if defined(__GNUC__) || defined(__clang__)
        /* floor(log10(v)) from the bit length (1233 / 4096 ~ log10(2)), then one compare. */
        t = ((64 - __builtin_clzll(v)) * 1233) >> 12;
        return t - (v < pow10[t]) + 1;
    #else
        for (t = 1; t < 20 && v >= pow10[t]; t++) {}
        return t;
    #endif
    }
    """
    signed char _gs_b64_value[256]
    unsigned char _gs_b64_pairs[4096][2]
    int _decimal_digits "_gs_decimal_digits"(uint64_t value) noexcept nogil


cdef void _init_table() noexcept:
    cdef int i
    for i in range(256):
        _gs_b64_value[i] = -1
    for i in range(64):
        _gs_b64_value[<uint8_t>_ALPHABET[i]] = i
    for i in range(4096):
        _gs_b64_pairs[i][0] = _ALPHABET[i >> 6]
        _gs_b64_pairs[i][1] = _ALPHABET[i & 63]


_init_table()


def encode_cursor(str kind, key):
    cdef Py_ssize_t kind_len
    cdef const char *kind_utf8 = PyUnicode_AsUTF8AndSize(kind, &kind_len)
    cdef uint8_t raw[_RAW_MAX + _CHECK]
    cdef Py_ssize_t digit_count, raw_len, i, pos
    cdef uint64_t value, pair
    if type(key) is not int or kind_len + 21 > _RAW_MAX:
        return _encode_slowly(kind, key)
    try:
        value = key
    except OverflowError:  # negative, or past 64 bits: not a key, but the twin encodes it
        return _encode_slowly(kind, key)
    # Decimal digits written from the last, two per division: the divisions
    # depend on each other, so halving their number is what counts.
    digit_count = _decimal_digits(value)
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
    while i + 3 <= raw_len:  # three bytes, four characters, two lookups
        triple = (raw[i] << 16) | (raw[i + 1] << 8) | raw[i + 2]
        memcpy(out + o, _gs_b64_pairs[triple >> 12], 2)
        memcpy(out + o + 2, _gs_b64_pairs[triple & 4095], 2)
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
    """See ``use_blake2b`` in _blake2b.pxd."""
    return use_blake2b(name)


_use_blake2b()
