"""The implementation of the consistent-hash ring: compiled if built, else the twin."""

from __future__ import annotations

from typing import TYPE_CHECKING

from gramstack.speedups import NO_EXTENSIONS

# Type checkers read the twin; the stub of the compiled module has the same names and types.
if TYPE_CHECKING or NO_EXTENSIONS:
    from gramstack.speedups._ring_py import HashRing

    COMPILED = False
else:
    try:
        from gramstack.speedups._ring import HashRing

        COMPILED = True
    except ImportError:  # installed without a compiler: the twin does the same work
        from gramstack.speedups._ring_py import HashRing

        COMPILED = False

__all__ = ["COMPILED", "HashRing"]
