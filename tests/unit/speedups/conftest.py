from __future__ import annotations

import importlib
from collections.abc import Iterator
from types import ModuleType

import pytest

# Each test that takes ``implementation`` runs once on the compiled module
# and once on its pure-Python twin. A compiled module that was not built
# fails its half (ImportError) rather than being skipped.
IMPLEMENTATIONS = ["compiled", "twin"]

# The compiled modules that hash with BLAKE2b in C, and its implementations
# (each must give hashlib's bytes): AVX2 with AVX-512VL rotations, AVX2, and
# the portable C every other machine uses.
BLAKE2B_MODULES = ["cursor", "ring"]
BLAKE2B_CHOICES = ["avx512", "avx2", "portable"]


def load(name: str, implementation: str) -> ModuleType:
    suffix = "" if implementation == "compiled" else "_py"
    return importlib.import_module(f"gramstack.speedups._{name}{suffix}")


@pytest.fixture(scope="module", params=IMPLEMENTATIONS)
def implementation(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="module", params=BLAKE2B_CHOICES)
def blake2b(request: pytest.FixtureRequest) -> Iterator[str]:
    """Runs a test module once with each BLAKE2b of the compiled modules; the one in use.

    On a CPU without the one asked for, the module runs with the portable C.
    """
    compiled = [load(name, "compiled") for name in BLAKE2B_MODULES]
    chosen = set()
    for module in compiled:
        try:
            chosen.add(module._use_blake2b(request.param))
        except ValueError:
            chosen.add(module._use_blake2b("portable"))
    assert len(chosen) == 1
    yield chosen.pop()
    for module in compiled:
        module._use_blake2b()
