"""Compiled hot paths, each with a pure-Python twin of the same names.

``_x.pyx`` is the Cython module, ``_x_py.py`` its twin and ``x.py`` picks
one at import: the compiled module when it was built, unless
``GRAMSTACK_NO_EXTENSIONS`` is set. The package installs and runs without a
compiler; ``pip install -e .`` builds the extensions when it can.
"""

from __future__ import annotations

import os

# The one setting read outside runtime/config.py: the implementation has to
# be chosen at import, before any settings object exists.
NO_EXTENSIONS = bool(os.environ.get("GRAMSTACK_NO_EXTENSIONS"))
