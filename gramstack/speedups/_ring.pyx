# cython: language_level=3, boundscheck=False, wraparound=False
"""The consistent-hash ring with its points in a C array (same placement as the twin)."""

from cpython.mem cimport PyMem_Free, PyMem_Malloc
from cpython.unicode cimport PyUnicode_AsUTF8AndSize
from libc.stdint cimport uint8_t, uint64_t

from gramstack.speedups._blake2b cimport _gs_blake2b_choose, blake2b_u64_big


cdef extern from *:
    """
    /* bisect_left of point in sorted[0:size] (size >= 1), without branches:
       the ring's keys are spread at random, so a branch per step would be
       mispredicted half the time; a conditional move never is. */
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


cdef class HashRing:
    cdef readonly tuple nodes
    cdef list _owners
    cdef uint64_t *_hashes
    cdef Py_ssize_t _size

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
        cdef Py_ssize_t i
        for i in range(size):
            hashes[i] = points[i][0]
        PyMem_Free(self._hashes)
        self._hashes = hashes
        self._size = size
        self._owners = [node for _, node in points]

    def __dealloc__(self):
        PyMem_Free(self._hashes)

    def node_for(self, str key):
        cdef Py_ssize_t length
        cdef const char *data = PyUnicode_AsUTF8AndSize(key, &length)
        cdef uint64_t point = blake2b_u64_big(<const uint8_t *>data, <size_t>length)
        cdef Py_ssize_t index = _lower_bound(self._hashes, self._size, point)
        return self._owners[index if index < self._size else 0]  # past the last: the first


cdef object _hash(bytes data):
    return blake2b_u64_big(<const uint8_t *>(<char *>data), <size_t>len(data))


def _use_blake2b(bint portable=False):
    """Chooses this module's BLAKE2b, the fastest this CPU runs or else the portable C; its name.

    Both give the same bytes; the tests run each.
    """
    return _gs_blake2b_choose(portable).decode()


_use_blake2b()
