"""The implementation of keyset cursor text: compiled if built, else the twin."""

from __future__ import annotations

from typing import TYPE_CHECKING

from gramstack.speedups import NO_EXTENSIONS

# Type checkers read the twin; the stub of the compiled module has the same names and types.
if TYPE_CHECKING or NO_EXTENSIONS:
    from gramstack.speedups._cursor_py import CHECK_BYTES, decode_cursor, encode_cursor

    COMPILED = False
else:
    try:
        from gramstack.speedups._cursor import CHECK_BYTES, decode_cursor, encode_cursor

        COMPILED = True
    except ImportError:  # installed without a compiler: the twin does the same work
        from gramstack.speedups._cursor_py import CHECK_BYTES, decode_cursor, encode_cursor

        COMPILED = False

__all__ = ["CHECK_BYTES", "COMPILED", "decode_cursor", "encode_cursor"]
