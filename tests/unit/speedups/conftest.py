from __future__ import annotations

import importlib
from types import ModuleType

import pytest

# Each test that takes ``implementation`` runs once on the compiled module
# and once on its pure-Python twin. A compiled module that was not built
# fails its half (ImportError) rather than being skipped.
IMPLEMENTATIONS = ["compiled", "twin"]


def load(name: str, implementation: str) -> ModuleType:
    suffix = "" if implementation == "compiled" else "_py"
    return importlib.import_module(f"gramstack.speedups._{name}{suffix}")


@pytest.fixture(scope="module", params=IMPLEMENTATIONS)
def implementation(request: pytest.FixtureRequest) -> str:
    return str(request.param)
