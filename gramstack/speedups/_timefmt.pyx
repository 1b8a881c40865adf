# cython: language_level=3, boundscheck=False, wraparound=False, cdivision=True
"""RFC 3339 formatting of ms since the epoch, without building a datetime."""

from cpython.unicode cimport PyUnicode_New
from libc.stdint cimport int64_t, uint8_t

cdef extern from "Python.h":
    void *PyUnicode_DATA(object)

# 0001-01-01 and 10000-01-01 in ms since the epoch: datetime's range.
cdef int64_t _MIN_MS = -62135596800000
cdef int64_t _END_MS = 253402300800000


cdef inline void _put2(uint8_t *out, int value) noexcept nogil:
    out[0] = 48 + value // 10
    out[1] = 48 + value % 10


def format_timestamp(int64_t ms):
    """RFC 3339 UTC time of ``ms`` since the Unix epoch: ``2026-01-01T00:00:00.000Z``."""
    if ms < _MIN_MS or ms >= _END_MS:
        raise OverflowError("date value out of range")
    cdef int64_t days = ms // 86400000
    cdef int64_t rem = ms - days * 86400000
    if rem < 0:  # C division truncates toward zero; days must be the floor
        rem += 86400000
        days -= 1
    # Days to civil date: Howard Hinnant's days_from_civil, inverted.
    cdef int64_t z = days + 719468
    cdef int64_t era = (z if z >= 0 else z - 146096) // 146097
    cdef int64_t doe = z - era * 146097
    cdef int64_t yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    cdef int64_t doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    cdef int64_t mp = (5 * doy + 2) // 153
    cdef int day = <int>(doy - (153 * mp + 2) // 5 + 1)
    cdef int month = <int>(mp + 3 if mp < 10 else mp - 9)
    cdef int year = <int>(yoe + era * 400 + (1 if month <= 2 else 0))
    cdef int millis = <int>(rem % 1000)
    cdef int seconds = <int>(rem // 1000)
    text = PyUnicode_New(24, 127)
    cdef uint8_t *out = <uint8_t *>PyUnicode_DATA(text)
    _put2(out, year // 100)
    _put2(out + 2, year % 100)
    out[4] = 45  # -
    _put2(out + 5, month)
    out[7] = 45
    _put2(out + 8, day)
    out[10] = 84  # T
    _put2(out + 11, seconds // 3600)
    out[13] = 58  # :
    _put2(out + 14, seconds // 60 % 60)
    out[16] = 58
    _put2(out + 17, seconds % 60)
    out[19] = 46  # .
    out[20] = 48 + millis // 100
    _put2(out + 21, millis % 100)
    out[23] = 90  # Z
    return text
