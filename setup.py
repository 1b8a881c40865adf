"""Builds the optional Cython speedups; all metadata lives in pyproject.toml.

Every extension is optional: without a compiler (or Cython) the package
installs with its pure-Python twins only, and ``gramstack.speedups`` uses them.
"""

from __future__ import annotations

import sys
from pathlib import Path

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

_SPEEDUPS = Path("gramstack") / "speedups"


class _OptionalBuildExt(build_ext):
    """Skips an extension that fails to build, whatever the reason (no compiler, no headers)."""

    def initialize_options(self) -> None:
        super().initialize_options()
        self._skipped: set[str] = set()

    def build_extension(self, ext: Extension) -> None:
        try:
            super().build_extension(ext)
        except Exception as error:
            print(f"gramstack: {ext.name} not compiled ({error}); its twin is used", file=sys.stderr)
            self._skipped.add(ext.name)

    def build_extensions(self) -> None:
        super().build_extensions()
        # Nothing to copy or record for what was skipped (editable installs copy outputs).
        self.extensions = [ext for ext in self.extensions if ext.name not in self._skipped]


def _extensions() -> list[Extension]:
    modules = sorted(p.stem for p in _SPEEDUPS.glob("_*.pyx"))
    try:
        from Cython.Build import cythonize
    except ImportError:
        print("gramstack: Cython not found, installing without compiled speedups", file=sys.stderr)
        return []
    extensions = [
        Extension(
            f"gramstack.speedups.{name}",
            [str(_SPEEDUPS / f"{name}.pyx")],
            depends=[str(p) for p in (*_SPEEDUPS.glob("*.pxd"), *_SPEEDUPS.rglob("*.h"))],
        )
        for name in modules
    ]
    return list(cythonize(extensions, compiler_directives={"language_level": "3"}, quiet=True))


setup(ext_modules=_extensions(), cmdclass={"build_ext": _OptionalBuildExt})
