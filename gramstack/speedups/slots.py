"""The implementation of shared 8-byte slots: compiled if built, else the twin."""

from __future__ import annotations

from typing import TYPE_CHECKING

from gramstack.speedups import NO_EXTENSIONS

# Type checkers read the twin; the stub of the compiled module has the same names and types.
if TYPE_CHECKING or NO_EXTENSIONS:
    from gramstack.speedups._slots_py import ATOMIC_LOADS, Slots

    COMPILED = False
else:
    try:
        from gramstack.speedups._slots import ATOMIC_LOADS, Slots

        COMPILED = True
    except ImportError:  # installed without a compiler: the twin does the same work
        from gramstack.speedups._slots_py import ATOMIC_LOADS, Slots

        COMPILED = False

__all__ = ["ATOMIC_LOADS", "COMPILED", "Slots"]
