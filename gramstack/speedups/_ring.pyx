# cython: language_level=3, boundscheck=False, wraparound=False
"""The consistent-hash ring with its points in a C array (same placement as the twin).

Keys are hashed with BLAKE2b from _blake2b.h: portable C, or on x86-64 with
AVX2 or AVX-512 code vendored from https://github.com/sneves/blake2-avx2 (CC0
1.0 Universal; see vendor/blake2_avx2/), chosen at import.
"""

from cpython.mem cimport PyMem_Free, PyMem_Malloc
from cpython.unicode cimport PyUnicode_AsUTF8AndSize
from libc.stdint cimport uint8_t, uint32_t, uint64_t

from gramstack.speedups._blake2b cimport blake2b_u64_big, use_blake2b


cdef extern from *:
    """
    /* bisect_left of point in sorted[0:size] (size >= 1), without branches. */
    static inline Py_ssize_t _gs_lower_bound(const uint64_t *sorted, Py_ssize_t size,
                                             uint64_t point) {
        const uint64_t *base = sorted;
        while (size > 1) {
            Py_ssize_t half = size >> 1;
            base = base[half] < point ? base + half : base;
            size -= half;
        }
        return (base - sorted) + (*base < point);
    }
    """
    Py_ssize_t _lower_bound "_gs_lower_bound"(const uint64_t *sorted, Py_ssize_t size,
                                              uint64_t point) noexcept nogil


# Buckets: at least two per point (at most 2**_MAX_BUCKET_BITS), so that a
# bucket holds about half a point and a lookup reads two table entries and
# compares with about one point, instead of ten dependent reads of a bisect.
cdef enum:
    _MAX_BUCKET_BITS = 16


cdef class HashRing:
    cdef readonly tuple nodes
    cdef list _owners
    cdef uint64_t *_hashes
    cdef Py_ssize_t _size
    # _first[b]: the index of the first point at or after b << _shift (the
    # points of bucket b are _hashes[_first[b]:_first[b + 1]]).
    cdef uint32_t *_first
    cdef int _shift

    def __init__(self, nodes, int vnodes=160):
        if not nodes:
            raise ValueError("a hash ring needs at least one node")
        if vnodes < 1:
            raise ValueError("a hash ring needs at least one point per node")
        self.nodes = tuple(dict.fromkeys(nodes))
        # Built in Python (once per ring) so that ties sort exactly as the twin's.
        points = sorted(
            (_hash(f"{node}#{i}".encode()), node) for node in self.nodes for i in range(vnodes)
        )
        cdef Py_ssize_t size = len(points)
        cdef uint64_t *hashes = <uint64_t *>PyMem_Malloc(size * sizeof(uint64_t))
        if hashes == NULL:
            raise MemoryError()
        if size >= <Py_ssize_t>0xFFFFFFFF:  # _first holds 32-bit indexes
            PyMem_Free(hashes)
            raise ValueError("a hash ring holds fewer than 2**32 points")
        cdef Py_ssize_t i
        for i in range(size):
            hashes[i] = points[i][0]
        cdef int bits = 1
        while bits < _MAX_BUCKET_BITS and (<Py_ssize_t>1 << bits) < 2 * size:
            bits += 1
        cdef Py_ssize_t buckets = <Py_ssize_t>1 << bits
        cdef uint32_t *first = <uint32_t *>PyMem_Malloc((buckets + 1) * sizeof(uint32_t))
        if first == NULL:
            PyMem_Free(hashes)
            raise MemoryError()
        for i in range(buckets):
            first[i] = <uint32_t>_lower_bound(hashes, size, (<uint64_t>i) << (64 - bits))
        first[buckets] = <uint32_t>size
        PyMem_Free(self._hashes)
        PyMem_Free(self._first)
        self._hashes = hashes
        self._size = size
        self._first = first
        self._shift = 64 - bits
        self._owners = [node for _, node in points]

    def __dealloc__(self):
        PyMem_Free(self._hashes)
        PyMem_Free(self._first)

    def node_for(self, str key):
        cdef Py_ssize_t length
        cdef const char *data = PyUnicode_AsUTF8AndSize(key, &length)
        cdef uint64_t point = blake2b_u64_big(<const uint8_t *>data, <size_t>length)
        # bisect_left: past the points of the buckets before point's, and
        # past those of its own bucket below it.
        cdef Py_ssize_t bucket = <Py_ssize_t>(point >> self._shift)
        cdef Py_ssize_t index = self._first[bucket], end = self._first[bucket + 1]
        while index < end and self._hashes[index] < point:
            index += 1
        return self._owners[index if index < self._size else 0]  # past the last: the first


cdef object _hash(bytes data):
    return blake2b_u64_big(<const uint8_t *>(<char *>data), <size_t>len(data))


def _use_blake2b(str name="fastest"):
    """See ``use_blake2b`` in _blake2b.pxd."""
    return use_blake2b(name)


_use_blake2b()
