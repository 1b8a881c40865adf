# cython: language_level=3, boundscheck=False, wraparound=False
"""The consistent-hash ring with its points in a C array (same placement as the twin)."""

from cpython.mem cimport PyMem_Free, PyMem_Malloc
from cpython.unicode cimport PyUnicode_AsUTF8AndSize
from libc.stdint cimport uint8_t, uint64_t

from gramstack.speedups._blake2b cimport blake2b_u64_big


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
        # bisect_left over the sorted points, wrapping past the last one.
        cdef Py_ssize_t low = 0, high = self._size, middle
        while low < high:
            middle = (low + high) >> 1
            if self._hashes[middle] < point:
                low = middle + 1
            else:
                high = middle
        return self._owners[low if low < self._size else 0]


cdef object _hash(bytes data):
    return blake2b_u64_big(<const uint8_t *>(<char *>data), <size_t>len(data))
