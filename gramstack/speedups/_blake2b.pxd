# BLAKE2b (RFC 7693) for the short inputs of the speedups, compatible with
# hashlib.blake2b(data, digest_size=n, person=p): the C is in _blake2b.h
# (portable C, and AVX2 / AVX-512VL chosen at run time; see there for the vendored code).
# Calling hashlib from C costs more than hashing a 40-byte key in C.

from libc.stdint cimport uint8_t, uint64_t


cdef extern from "_blake2b.h":
    void _gs_blake2b(uint8_t *out, size_t outlen, const uint8_t *data, size_t size,
                     const uint8_t *person, size_t person_len) nogil
    const char *_gs_blake2b_choose(const char *name) nogil


cdef inline uint64_t blake2b_u64_big(const uint8_t *data, size_t size) noexcept nogil:
    """int.from_bytes(blake2b(data, digest_size=8).digest(), "big")."""
    cdef uint8_t digest[8]
    cdef uint64_t value = 0
    cdef int i
    _gs_blake2b(digest, 8, data, size, NULL, 0)
    for i in range(8):
        value = (value << 8) | digest[i]
    return value


cdef inline str use_blake2b(str name):
    """Makes the calling module hash with the BLAKE2b named ("avx512", "avx2",
    "portable"), or the fastest this CPU runs ("fastest"); the name of the one
    in use. (The choice is the module's own: each compiles the header.)

    All give the same bytes; the tests run each. ValueError if this CPU cannot run it.
    """
    cdef bytes encoded = name.encode()
    cdef const char *chosen = _gs_blake2b_choose(encoded)
    if chosen == NULL:
        raise ValueError(f"this CPU does not run BLAKE2b {name!r}")
    return chosen.decode()
