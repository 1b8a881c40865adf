# BLAKE2b (RFC 7693) for the short inputs of the speedups, compatible with
# hashlib.blake2b(data, digest_size=n, person=p): the cursor checksum and the
# hash ring must agree byte for byte with the pure-Python twins, so a process
# running without extensions maps every key and cursor the same way.
# Calling hashlib from C costs more than hashing a 40-byte key in C.

from libc.stdint cimport uint8_t, uint64_t
from libc.string cimport memcpy, memset

cdef extern from *:
    """
    static const unsigned long long _gs_blake2b_iv[8] = {
        0x6a09e667f3bcc908ULL, 0xbb67ae8584caa73bULL, 0x3c6ef372fe94f82bULL,
        0xa54ff53a5f1d36f1ULL, 0x510e527fade682d1ULL, 0x9b05688c2b3e6c1fULL,
        0x1f83d9abfb41bd6bULL, 0x5be0cd19137e2179ULL};
    static const unsigned char _gs_blake2b_sigma[12][16] = {
        {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15},
        {14, 10, 4, 8, 9, 15, 13, 6, 1, 12, 0, 2, 11, 7, 5, 3},
        {11, 8, 12, 0, 5, 2, 15, 13, 10, 14, 3, 6, 7, 1, 9, 4},
        {7, 9, 3, 1, 13, 12, 11, 14, 2, 6, 5, 10, 4, 0, 15, 8},
        {9, 0, 5, 7, 2, 4, 10, 15, 14, 1, 11, 12, 6, 8, 3, 13},
        {2, 12, 6, 10, 0, 11, 8, 3, 4, 13, 7, 5, 15, 14, 1, 9},
        {12, 5, 1, 15, 14, 13, 4, 10, 0, 7, 6, 3, 9, 2, 8, 11},
        {13, 11, 7, 14, 12, 1, 3, 9, 5, 0, 15, 4, 8, 6, 2, 10},
        {6, 15, 14, 9, 11, 3, 0, 8, 12, 2, 13, 7, 1, 4, 10, 5},
        {10, 2, 8, 4, 7, 6, 1, 5, 15, 11, 9, 14, 3, 12, 13, 0},
        {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15},
        {14, 10, 4, 8, 9, 15, 13, 6, 1, 12, 0, 2, 11, 7, 5, 3}};
    #define _GS_ROTR64(x, n) (((x) >> (n)) | ((x) << (64 - (n))))
    #define _GS_G(a, b, c, d, x, y) do { \\
        a = a + b + (x); d = _GS_ROTR64(d ^ a, 32); \\
        c = c + d; b = _GS_ROTR64(b ^ c, 24); \\
        a = a + b + (y); d = _GS_ROTR64(d ^ a, 16); \\
        c = c + d; b = _GS_ROTR64(b ^ c, 63); } while (0)
    #define _GS_ROUND(r) do { \\
        const unsigned char *s = _gs_blake2b_sigma[r]; \\
        _GS_G(v[0], v[4], v[8], v[12], m[s[0]], m[s[1]]); \\
        _GS_G(v[1], v[5], v[9], v[13], m[s[2]], m[s[3]]); \\
        _GS_G(v[2], v[6], v[10], v[14], m[s[4]], m[s[5]]); \\
        _GS_G(v[3], v[7], v[11], v[15], m[s[6]], m[s[7]]); \\
        _GS_G(v[0], v[5], v[10], v[15], m[s[8]], m[s[9]]); \\
        _GS_G(v[1], v[6], v[11], v[12], m[s[10]], m[s[11]]); \\
        _GS_G(v[2], v[7], v[8], v[13], m[s[12]], m[s[13]]); \\
        _GS_G(v[3], v[4], v[9], v[14], m[s[14]], m[s[15]]); } while (0)

    static inline unsigned long long _gs_load64(const unsigned char *p) {
        return (unsigned long long)p[0] | ((unsigned long long)p[1] << 8) |
               ((unsigned long long)p[2] << 16) | ((unsigned long long)p[3] << 24) |
               ((unsigned long long)p[4] << 32) | ((unsigned long long)p[5] << 40) |
               ((unsigned long long)p[6] << 48) | ((unsigned long long)p[7] << 56);
    }

    static void _gs_blake2b_compress(unsigned long long h[8], const unsigned char block[128],
                                     unsigned long long counter, int last) {
        unsigned long long m[16], v[16];
        int i;
        for (i = 0; i < 16; i++) m[i] = _gs_load64(block + 8 * i);
        for (i = 0; i < 8; i++) { v[i] = h[i]; v[i + 8] = _gs_blake2b_iv[i]; }
        v[12] ^= counter;
        if (last) v[14] = ~v[14];
        /* Rounds written out so that every message index is a constant. */
        _GS_ROUND(0); _GS_ROUND(1); _GS_ROUND(2); _GS_ROUND(3);
        _GS_ROUND(4); _GS_ROUND(5); _GS_ROUND(6); _GS_ROUND(7);
        _GS_ROUND(8); _GS_ROUND(9); _GS_ROUND(10); _GS_ROUND(11);
        for (i = 0; i < 8; i++) h[i] ^= v[i] ^ v[i + 8];
    }

    /* Unkeyed BLAKE2b of data[0:size] with an outlen-byte digest (1..64) and a
       personalization of up to 16 bytes (zero-padded, as hashlib does). */
    static void _gs_blake2b(unsigned char *out, size_t outlen, const unsigned char *data,
                            size_t size, const unsigned char *person, size_t person_len) {
        unsigned long long h[8];
        unsigned char block[128], personal[16] = {0}, digest[64];
        unsigned long long counter = 0;
        size_t i;
        for (i = 0; i < 8; i++) h[i] = _gs_blake2b_iv[i];
        h[0] ^= 0x01010000ULL ^ (unsigned long long)outlen;
        if (person_len) memcpy(personal, person, person_len > 16 ? 16 : person_len);
        h[6] ^= _gs_load64(personal);
        h[7] ^= _gs_load64(personal + 8);
        while (size > 128) {
            counter += 128;
            _gs_blake2b_compress(h, data, counter, 0);
            data += 128;
            size -= 128;
        }
        memset(block, 0, 128);
        memcpy(block, data, size);
        counter += size;
        _gs_blake2b_compress(h, block, counter, 1);
        for (i = 0; i < 64; i++) digest[i] = (unsigned char)(h[i / 8] >> (8 * (i % 8)));
        memcpy(out, digest, outlen);
    }
    """
    void _gs_blake2b(uint8_t *out, size_t outlen, const uint8_t *data, size_t size,
                     const uint8_t *person, size_t person_len) nogil


cdef inline uint64_t blake2b_u64_big(const uint8_t *data, size_t size) noexcept nogil:
    """int.from_bytes(blake2b(data, digest_size=8).digest(), "big")."""
    cdef uint8_t digest[8]
    cdef uint64_t value = 0
    cdef int i
    _gs_blake2b(digest, 8, data, size, NULL, 0)
    for i in range(8):
        value = (value << 8) | digest[i]
    return value
