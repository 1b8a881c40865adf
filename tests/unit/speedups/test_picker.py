"""The compiled modules are the ones in use, unless GRAMSTACK_NO_EXTENSIONS says otherwise."""

from __future__ import annotations

import os
import subprocess
import sys

from gramstack.api.serializers import timestamp
from gramstack.cache.ring import HashRing
from gramstack.domain import pagination
from gramstack.speedups import NO_EXTENSIONS, cursor, ring, timefmt

PROBE = (
    "from gramstack.speedups import cursor, ring, timefmt;"
    "print(cursor.COMPILED, ring.COMPILED, timefmt.COMPILED,"
    " cursor.encode_cursor.__module__, ring.HashRing.__module__,"
    " timefmt.format_timestamp.__module__)"
)


def _probe(**env: str) -> list[str]:
    clean = {k: v for k, v in os.environ.items() if k != "GRAMSTACK_NO_EXTENSIONS"}
    out = subprocess.run(
        [sys.executable, "-c", PROBE], env={**clean, **env}, capture_output=True, check=True
    )
    return out.stdout.decode().split()


def test_this_suite_runs_the_implementations_it_was_asked_for() -> None:
    """A suite run without GRAMSTACK_NO_EXTENSIONS must exercise the compiled modules:
    a build that silently fell back to the twins fails here."""
    expected = not NO_EXTENSIONS
    picked = [module.COMPILED for module in (cursor, ring, timefmt)]
    assert picked == [expected] * 3, "compiled speedups not built: run `pip install -e .`"
    suffix = "" if expected else "_py"
    assert HashRing.__module__ == f"gramstack.speedups._ring{suffix}"
    assert pagination.encode_cursor.__module__ == f"gramstack.speedups._cursor{suffix}"
    assert timestamp(0) == "1970-01-01T00:00:00.000Z"


def test_compiled_modules_are_picked_by_default() -> None:
    assert _probe() == [
        "True",
        "True",
        "True",
        "gramstack.speedups._cursor",
        "gramstack.speedups._ring",
        "gramstack.speedups._timefmt",
    ]


def test_no_extensions_picks_the_twins() -> None:
    assert _probe(GRAMSTACK_NO_EXTENSIONS="1") == [
        "False",
        "False",
        "False",
        "gramstack.speedups._cursor_py",
        "gramstack.speedups._ring_py",
        "gramstack.speedups._timefmt_py",
    ]
