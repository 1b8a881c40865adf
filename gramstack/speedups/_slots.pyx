# cython: language_level=3, boundscheck=False, wraparound=False
"""8-byte integer slots over a writable buffer (a shared file mapping),
read and written with atomic loads and stores: a reader in one process
never sees half of another process's store, without taking a lock."""

from cpython.buffer cimport PyBUF_WRITABLE, PyBuffer_Release, PyObject_GetBuffer

cdef extern from *:
    """
    static inline long long gramstack_slot_load(long long *slot) {
        return __atomic_load_n(slot, __ATOMIC_ACQUIRE);
    }
    static inline void gramstack_slot_store(long long *slot, long long value) {
        __atomic_store_n(slot, value, __ATOMIC_RELEASE);
    }
    """
    long long gramstack_slot_load(long long *slot) nogil
    void gramstack_slot_store(long long *slot, long long value) nogil

# Loads are atomic whatever the compiler does with a plain copy: readers
# need no lock.
ATOMIC_LOADS = True


cdef class Slots:
    cdef Py_buffer _view
    cdef long long *_base
    cdef Py_ssize_t _count
    cdef bint _held

    def __cinit__(self, buffer):
        PyObject_GetBuffer(buffer, &self._view, PyBUF_WRITABLE)
        self._held = True
        if (<size_t>self._view.buf) % sizeof(long long):
            self.release()
            raise ValueError("slots need an 8-byte aligned buffer")
        self._base = <long long *>self._view.buf
        self._count = self._view.len // <Py_ssize_t>sizeof(long long)

    def __dealloc__(self):
        if self._held:
            PyBuffer_Release(&self._view)

    def __len__(self):
        return self._count

    cdef inline long long *_slot(self, Py_ssize_t index) except NULL:
        if not self._held:
            raise ValueError("slots released")
        if index < 0 or index >= self._count:
            raise IndexError("slot index out of range")
        return self._base + index

    def load(self, Py_ssize_t index):
        return gramstack_slot_load(self._slot(index))

    def store(self, Py_ssize_t index, long long value):
        gramstack_slot_store(self._slot(index), value)

    def release(self):
        """Let go of the buffer (an mmap cannot close while it is held)."""
        if self._held:
            self._held = False
            self._count = 0
            PyBuffer_Release(&self._view)
