/* One BLAKE2b in AVX2 registers, included by _blake2b.h once per instruction
   set: _GS_SIMD_TARGET names the target, _GS_SIMD(name) the functions, and
   the _GS_ROT* macros rotate 64-bit lanes with that instruction set. With
   _GS_SIMD_MASKED_TAIL (AVX-512BW), the last block is read with masked loads,
   zeros past its end, instead of being copied into a zeroed buffer first. */

#ifdef _GS_SIMD_MASKED_TAIL
/* The 16 bytes at p + 16 * i of a block that ends after `size` bytes. */
#define _GS_LOAD16(p, i, size) _mm_maskz_loadu_epi8( \
    (size) >= 16 * (i) + 16 ? (__mmask16)0xFFFF \
    : (size) <= 16 * (i) ? (__mmask16)0 : (__mmask16)((1U << ((size) - 16 * (i))) - 1), \
    (p) + 16 * (i))
#else
#define _GS_LOAD16(p, i, size) _mm_loadu_si128((const __m128i *)((p) + 16 * (i)))
#endif

/* One compression of the block at p (its first `size` bytes, zeros after)
   into the state rows a, b. */
_GS_SIMD_TARGET static inline void _GS_SIMD(compress)(__m256i *row_a, __m256i *row_b,
                                                      const unsigned char *p, size_t size,
                                                      unsigned long long counter,
                                                      unsigned long long last) {
    const __m256i m0 = _mm256_broadcastsi128_si256(_GS_LOAD16(p, 0, size));
    const __m256i m1 = _mm256_broadcastsi128_si256(_GS_LOAD16(p, 1, size));
    const __m256i m2 = _mm256_broadcastsi128_si256(_GS_LOAD16(p, 2, size));
    const __m256i m3 = _mm256_broadcastsi128_si256(_GS_LOAD16(p, 3, size));
    const __m256i m4 = _mm256_broadcastsi128_si256(_GS_LOAD16(p, 4, size));
    const __m256i m5 = _mm256_broadcastsi128_si256(_GS_LOAD16(p, 5, size));
    const __m256i m6 = _mm256_broadcastsi128_si256(_GS_LOAD16(p, 6, size));
    const __m256i m7 = _mm256_broadcastsi128_si256(_GS_LOAD16(p, 7, size));
    __m256i t0, t1;
#ifndef _GS_SIMD_MASKED_TAIL
    (void)size; /* a whole block: the caller copied a short one into zeros */
#endif
    __m256i a = *row_a, b = *row_b;
    const __m256i iv0 = a, iv1 = b;
    __m256i c = _mm256_loadu_si256((const __m256i *)&_gs_blake2b_iv[0]);
    __m256i d = _GS_XOR(_mm256_loadu_si256((const __m256i *)&_gs_blake2b_iv[4]),
                        _mm256_set_epi64x(0, (long long)last, 0, (long long)counter));
    _GS_ROUND_V1(a, b, c, d, 0); _GS_ROUND_V1(a, b, c, d, 1);
    _GS_ROUND_V1(a, b, c, d, 2); _GS_ROUND_V1(a, b, c, d, 3);
    _GS_ROUND_V1(a, b, c, d, 4); _GS_ROUND_V1(a, b, c, d, 5);
    _GS_ROUND_V1(a, b, c, d, 6); _GS_ROUND_V1(a, b, c, d, 7);
    _GS_ROUND_V1(a, b, c, d, 8); _GS_ROUND_V1(a, b, c, d, 9);
    _GS_ROUND_V1(a, b, c, d, 10); _GS_ROUND_V1(a, b, c, d, 11);
    *row_a = _GS_XOR(_GS_XOR(a, c), iv0);
    *row_b = _GS_XOR(_GS_XOR(b, d), iv1);
}

/* The same function as _gs_blake2b_portable. */
_GS_SIMD_TARGET static void _GS_SIMD(hash)(unsigned char *out, size_t outlen,
                                      const unsigned char *data, size_t size,
                                      const unsigned char *person, size_t person_len) {
    unsigned char personal[16] = {0}, digest[64];
    unsigned long long counter = 0;
    __m256i a, b;
    if (person_len) memcpy(personal, person, person_len > 16 ? 16 : person_len);
    /* h = IV ^ parameter block: digest length, fanout 1, depth 1, personal. */
    a = _GS_XOR(_mm256_loadu_si256((const __m256i *)&_gs_blake2b_iv[0]),
                _mm256_set_epi64x(0, 0, 0, (long long)(0x01010000ULL ^ outlen)));
    b = _GS_XOR(_mm256_loadu_si256((const __m256i *)&_gs_blake2b_iv[4]),
                _mm256_set_epi64x((long long)_gs_load64(personal + 8),
                                  (long long)_gs_load64(personal), 0, 0));
    while (size > 128) {
        counter += 128;
        _GS_SIMD(compress)(&a, &b, data, 128, counter, 0);
        data += 128;
        size -= 128;
    }
    counter += size;
#ifdef _GS_SIMD_MASKED_TAIL
    _GS_SIMD(compress)(&a, &b, data, size, counter, ~0ULL);
#else
    {
        unsigned char block[128] = {0};
        memcpy(block, data, size);
        _GS_SIMD(compress)(&a, &b, block, 128, counter, ~0ULL);
    }
#endif
    _mm256_storeu_si256((__m256i *)(digest + 0), a);
    _mm256_storeu_si256((__m256i *)(digest + 32), b);
    memcpy(out, digest, outlen);
}


#undef _GS_LOAD16
