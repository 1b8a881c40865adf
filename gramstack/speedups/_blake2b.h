/* BLAKE2b (RFC 7693) for the short inputs of the speedups.

   _gs_blake2b(out, outlen, data, size, person, person_len) equals
   hashlib.blake2b(data, digest_size=outlen, person=person).digest(): the
   cursor checksum and the hash ring must agree byte for byte with the
   pure-Python twins, so a process running without extensions maps every key
   and cursor the same way.

   Implementations of the same function, the fastest the CPU runs chosen at
   import (_gs_blake2b_choose):
   - portable C (gramstack's own, written from RFC 7693), on every machine;
   - AVX2, and AVX2 with AVX-512VL rotations, on x86-64 with GCC or Clang
     (compiled for those targets whatever the build flags): _blake2b_simd.h,
     built from Samuel Neves's blake2-avx2 (https://github.com/sneves/blake2-avx2,
     CC0 1.0 Universal): vendor/blake2_avx2/blake2b-load-avx2.h unchanged, and
     the G / round / compression macros of its blake2b.c, extended with the
     digest length and personalization of the parameter block.
   Scalar BLAKE2b runs out of the 16 general registers (16 state words plus 16
   message words) and spills; in AVX2 registers a block costs about half as
   much, and the block is most of what a cursor or a ring lookup costs. */

#ifndef GS_BLAKE2B_H
#define GS_BLAKE2B_H

#include <stddef.h>
#include <string.h>

static const unsigned long long _gs_blake2b_iv[8] = {
    0x6a09e667f3bcc908ULL, 0xbb67ae8584caa73bULL, 0x3c6ef372fe94f82bULL,
    0xa54ff53a5f1d36f1ULL, 0x510e527fade682d1ULL, 0x9b05688c2b3e6c1fULL,
    0x1f83d9abfb41bd6bULL, 0x5be0cd19137e2179ULL};

static inline unsigned long long _gs_load64(const unsigned char *p) {
    return (unsigned long long)p[0] | ((unsigned long long)p[1] << 8) |
           ((unsigned long long)p[2] << 16) | ((unsigned long long)p[3] << 24) |
           ((unsigned long long)p[4] << 32) | ((unsigned long long)p[5] << 40) |
           ((unsigned long long)p[6] << 48) | ((unsigned long long)p[7] << 56);
}

/* ---- portable C ---------------------------------------------------------- */

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
#define _GS_G(a, b, c, d, x, y) do { \
    a = a + b + (x); d = _GS_ROTR64(d ^ a, 32); \
    c = c + d; b = _GS_ROTR64(b ^ c, 24); \
    a = a + b + (y); d = _GS_ROTR64(d ^ a, 16); \
    c = c + d; b = _GS_ROTR64(b ^ c, 63); } while (0)
#define _GS_ROUND(r) do { \
    const unsigned char *s = _gs_blake2b_sigma[r]; \
    _GS_G(v[0], v[4], v[8], v[12], m[s[0]], m[s[1]]); \
    _GS_G(v[1], v[5], v[9], v[13], m[s[2]], m[s[3]]); \
    _GS_G(v[2], v[6], v[10], v[14], m[s[4]], m[s[5]]); \
    _GS_G(v[3], v[7], v[11], v[15], m[s[6]], m[s[7]]); \
    _GS_G(v[0], v[5], v[10], v[15], m[s[8]], m[s[9]]); \
    _GS_G(v[1], v[6], v[11], v[12], m[s[10]], m[s[11]]); \
    _GS_G(v[2], v[7], v[8], v[13], m[s[12]], m[s[13]]); \
    _GS_G(v[3], v[4], v[9], v[14], m[s[14]], m[s[15]]); } while (0)

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
static void _gs_blake2b_portable(unsigned char *out, size_t outlen, const unsigned char *data,
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

/* ---- AVX2 (x86-64, GCC or Clang: compiled for AVX2, chosen at run time) ---- */

#if (defined(__x86_64__) || defined(__i386__)) && (defined(__GNUC__) || defined(__clang__))
#define GS_BLAKE2B_HAVE_AVX2 1
#include <immintrin.h>

/* From blake2-avx2's blake2b-common.h and blake2b.c (CC0 1.0), names prefixed. */
#define _GS_ADD(a, b) _mm256_add_epi64(a, b)
#define _GS_XOR(a, b) _mm256_xor_si256(a, b)
#define _GS_ROT32(x) _mm256_shuffle_epi32((x), _MM_SHUFFLE(2, 3, 0, 1))
#define _GS_ROT24(x) _mm256_shuffle_epi8((x), _mm256_setr_epi8( \
    3, 4, 5, 6, 7, 0, 1, 2, 11, 12, 13, 14, 15, 8, 9, 10, \
    3, 4, 5, 6, 7, 0, 1, 2, 11, 12, 13, 14, 15, 8, 9, 10))
#define _GS_ROT16(x) _mm256_shuffle_epi8((x), _mm256_setr_epi8( \
    2, 3, 4, 5, 6, 7, 0, 1, 10, 11, 12, 13, 14, 15, 8, 9, \
    2, 3, 4, 5, 6, 7, 0, 1, 10, 11, 12, 13, 14, 15, 8, 9))
#define _GS_ROT63(x) _mm256_or_si256(_mm256_srli_epi64((x), 63), _GS_ADD((x), (x)))

#define _GS_G1_V1(a, b, c, d, m) do { \
    a = _GS_ADD(a, m); \
    a = _GS_ADD(a, b); d = _GS_XOR(d, a); d = _GS_ROT32(d); \
    c = _GS_ADD(c, d); b = _GS_XOR(b, c); b = _GS_ROT24(b); } while (0)
#define _GS_G2_V1(a, b, c, d, m) do { \
    a = _GS_ADD(a, m); \
    a = _GS_ADD(a, b); d = _GS_XOR(d, a); d = _GS_ROT16(d); \
    c = _GS_ADD(c, d); b = _GS_XOR(b, c); b = _GS_ROT63(b); } while (0)
#define _GS_DIAG_V1(a, b, c, d) do { \
    a = _mm256_permute4x64_epi64(a, _MM_SHUFFLE(2, 1, 0, 3)); \
    d = _mm256_permute4x64_epi64(d, _MM_SHUFFLE(1, 0, 3, 2)); \
    c = _mm256_permute4x64_epi64(c, _MM_SHUFFLE(0, 3, 2, 1)); } while (0)
#define _GS_UNDIAG_V1(a, b, c, d) do { \
    a = _mm256_permute4x64_epi64(a, _MM_SHUFFLE(0, 3, 2, 1)); \
    d = _mm256_permute4x64_epi64(d, _MM_SHUFFLE(1, 0, 3, 2)); \
    c = _mm256_permute4x64_epi64(c, _MM_SHUFFLE(2, 1, 0, 3)); } while (0)

/* The message permutations (BLAKE2B_LOAD_MSG_r_i) read m0..m7, the block's
   128-bit halves broadcast to both lanes, and use t0, t1 as scratch. */
#include "vendor/blake2_avx2/blake2b-load-avx2.h"

#define _GS_ROUND_V1(a, b, c, d, r) do { \
    __m256i b0; \
    BLAKE2B_LOAD_MSG_ ##r ##_1(b0); _GS_G1_V1(a, b, c, d, b0); \
    BLAKE2B_LOAD_MSG_ ##r ##_2(b0); _GS_G2_V1(a, b, c, d, b0); \
    _GS_DIAG_V1(a, b, c, d); \
    BLAKE2B_LOAD_MSG_ ##r ##_3(b0); _GS_G1_V1(a, b, c, d, b0); \
    BLAKE2B_LOAD_MSG_ ##r ##_4(b0); _GS_G2_V1(a, b, c, d, b0); \
    _GS_UNDIAG_V1(a, b, c, d); } while (0)

#define _GS_SIMD(name) _gs_blake2b_avx2_##name
#define _GS_SIMD_TARGET __attribute__((target("avx2")))
#include "_blake2b_simd.h"
#undef _GS_SIMD
#undef _GS_SIMD_TARGET
#undef _GS_ROT32
#undef _GS_ROT24
#undef _GS_ROT16
#undef _GS_ROT63

/* AVX-512VL rotates a lane in one instruction (vprorq), on the same 256-bit
   registers: about a tenth less per block than the AVX2 shuffles; AVX-512BW
   reads the last block's bytes with masked loads. */
#define _GS_ROT32(x) _mm256_ror_epi64((x), 32)
#define _GS_ROT24(x) _mm256_ror_epi64((x), 24)
#define _GS_ROT16(x) _mm256_ror_epi64((x), 16)
#define _GS_ROT63(x) _mm256_ror_epi64((x), 63)
#define _GS_SIMD(name) _gs_blake2b_avx512_##name
#define _GS_SIMD_TARGET __attribute__((target("avx2,avx512f,avx512vl,avx512bw")))
#define _GS_SIMD_MASKED_TAIL 1
#include "_blake2b_simd.h"
#undef _GS_SIMD
#undef _GS_SIMD_TARGET
#undef _GS_SIMD_MASKED_TAIL

#undef _GS_ADD
#undef _GS_XOR
#undef _GS_ROT32
#undef _GS_ROT24
#undef _GS_ROT16
#undef _GS_ROT63
#endif /* AVX2 */

/* ---- choosing one ---------------------------------------------------------- */

typedef void (*_gs_blake2b_fn)(unsigned char *, size_t, const unsigned char *, size_t,
                               const unsigned char *, size_t);

static _gs_blake2b_fn _gs_blake2b_chosen = _gs_blake2b_portable;

/* Uses the named implementation ("avx512", "avx2", "portable"), or the
   fastest this CPU runs for NULL or "fastest"; returns the name of the one now
   in use, or NULL (and changes nothing) if the CPU cannot run the one named.
   Each extension module chooses the fastest at import. */
static const char *_gs_blake2b_choose(const char *name) {
    int fastest = name == NULL || strcmp(name, "fastest") == 0;
#ifdef GS_BLAKE2B_HAVE_AVX2
    /* __builtin_cpu_supports also checks that the OS saves the registers. */
    if ((fastest || strcmp(name, "avx512") == 0) && __builtin_cpu_supports("avx512f") &&
        __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512bw")) {
        _gs_blake2b_chosen = _gs_blake2b_avx512_hash;
        return "avx512";
    }
    if ((fastest || strcmp(name, "avx2") == 0) && __builtin_cpu_supports("avx2")) {
        _gs_blake2b_chosen = _gs_blake2b_avx2_hash;
        return "avx2";
    }
#endif
    if (fastest || strcmp(name, "portable") == 0) {
        _gs_blake2b_chosen = _gs_blake2b_portable;
        return "portable";
    }
    return NULL;
}

static inline void _gs_blake2b(unsigned char *out, size_t outlen, const unsigned char *data,
                               size_t size, const unsigned char *person, size_t person_len) {
    _gs_blake2b_chosen(out, outlen, data, size, person, person_len);
}

#endif /* GS_BLAKE2B_H */
