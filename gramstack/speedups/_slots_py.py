"""8-byte integer slots over a writable buffer: the pure-Python twin of
``_slots.pyx``.

A memoryview item is copied with one fixed-size ``memcpy``, which compilers
emit as a single aligned load or store; but C does not promise that, so the
twin does not claim atomic loads and ``SharedMaxTable`` reads under its lock
when the twin is in use.
"""

from __future__ import annotations

ATOMIC_LOADS = False


class Slots:
    def __init__(self, buffer: object) -> None:
        view = memoryview(buffer)  # type: ignore[arg-type]
        if view.readonly:
            view.release()
            raise TypeError("slots need a writable buffer")
        self._view: memoryview | None = view.cast("B").cast("q")
        view.release()

    def __len__(self) -> int:
        return 0 if self._view is None else len(self._view)

    def _items(self) -> memoryview:
        if self._view is None:
            raise ValueError("slots released")
        return self._view

    def load(self, index: int) -> int:
        if index < 0:
            raise IndexError("slot index out of range")
        value: int = self._items()[index]
        return value

    def store(self, index: int, value: int) -> None:
        if index < 0:
            raise IndexError("slot index out of range")
        if not -(1 << 63) <= value < 1 << 63:
            raise OverflowError("a slot holds a signed 64-bit integer")
        self._items()[index] = value

    def release(self) -> None:
        """Let go of the buffer (an mmap cannot close while it is held)."""
        if self._view is not None:
            self._view.release()
            self._view = None
