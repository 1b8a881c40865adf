from __future__ import annotations

import importlib
from collections.abc import Iterator
from types import ModuleType

import pytest

# Each test that takes ``implementation`` runs once on the compiled module
# and once on its pure-Python twin. A compiled module that was not built
# fails its half (ImportError) rather than being skipped.
IMPLEMENTATIONS = ["compiled", "twin"]

# The compiled modules that hash with BLAKE2b in C, and the choices of C:
# the fastest this CPU runs (AVX2 on x86-64 that has it) and the portable C
# every other machine uses. Both must give hashlib's bytes.
BLAKE2B_MODULES = ["cursor", "ring"]
BLAKE2B_CHOICES = ["fastest", "portable"]


def load(name: str, implementation: str) -> ModuleType:
    suffix = "" if implementation == "compiled" else "_py"
    return importlib.import_module(f"gramstack.speedups._{name}{suffix}")


@pytest.fixture(scope="module", params=IMPLEMENTATIONS)
def implementation(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="module", params=BLAKE2B_CHOICES)
def blake2b(request: pytest.FixtureRequest) -> Iterator[str]:
    """Runs a test module once with each BLAKE2b of the compiled modules; its name."""
    compiled = [load(name, "compiled") for name in BLAKE2B_MODULES]
    chosen = {module._use_blake2b(portable=request.param == "portable") for module in compiled}
    assert len(chosen) == 1
    yield chosen.pop()
    for module in compiled:
        module._use_blake2b()
