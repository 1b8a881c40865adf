"""The implementation of RFC 3339 timestamps: compiled if built, else the twin."""

from __future__ import annotations

from typing import TYPE_CHECKING

from gramstack.speedups import NO_EXTENSIONS

# Type checkers read the twin; the stub of the compiled module has the same names and types.
if TYPE_CHECKING or NO_EXTENSIONS:
    from gramstack.speedups._timefmt_py import format_timestamp

    COMPILED = False
else:
    try:
        from gramstack.speedups._timefmt import format_timestamp

        COMPILED = True
    except ImportError:  # installed without a compiler: the twin does the same work
        from gramstack.speedups._timefmt_py import format_timestamp

        COMPILED = False

__all__ = ["COMPILED", "format_timestamp"]
