"""The layering of gramstack, checked on its source: imports run downward.

``api`` → ``runtime`` (the wiring) → ``jobs`` → ``domain`` → the adapters
(``invalidation``, ``regional``, ``placement``, ``media``, ``cache``) →
``storage`` → ``records``. The domain sees adapters only through their
``ports`` modules; storage imports nothing of gramstack but itself and the
records. Every import counts, including those inside functions and under
``if TYPE_CHECKING:``: a cycle hidden there is still a cycle.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import gramstack

ROOT = Path(gramstack.__file__).parent

# Lowest first. A package may import its own modules and those of lower
# layers; packages in one layer do not import each other.
LAYERS: tuple[tuple[str, ...], ...] = (
    ("records", "types", "speedups"),
    ("storage",),
    ("cache",),
    ("media", "placement", "regional", "webhooks"),
    ("invalidation",),
    ("domain",),
    ("jobs",),
    ("runtime",),
    ("web",),
    ("api",),
    # Tools run from the command line beside the server: the seed writes
    # the stores directly, the benchmark starts servers and loads them.
    ("seed", "benchmark"),
    ("cli",),
)
RANK = {package: rank for rank, layer in enumerate(LAYERS) for package in layer}

DRIVERS = ("asyncpg", "aiosqlite", "sqlite3", "psycopg2", "starlette", "httpx", "PIL")
# Pure modules the domain may use besides ports: the cache key scheme is
# shared by the reads that fill the cache and the rules that evict it.
# speedups: compiled pure functions (cursors, timestamps) with their twins.
DOMAIN_MAY_USE = (
    "gramstack.records",
    "gramstack.types",
    "gramstack.cache.keys",
    "gramstack.speedups",
)
API_MAY_USE = ("gramstack.runtime.wiring", "gramstack.runtime.config")


def _module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _resolve(base: str, name: str, root: Path) -> str:
    """``from base import name``: the submodule when ``name`` is one."""
    candidate = f"{base}.{name}"
    relative = Path(*candidate.split(".")[1:])
    if (root / relative).with_suffix(".py").exists() or (root / relative).is_dir():
        return candidate
    return base


def imports(root: Path = ROOT) -> Iterator[tuple[str, str]]:
    """(importing module, imported module) for every import in the package."""
    for path in sorted(root.rglob("*.py")):
        module = _module_name(path, root)
        is_package = path.name == "__init__.py"
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    yield module, alias.name
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = module.split(".")
                    anchor = anchor[: len(anchor) - node.level + (1 if is_package else 0)]
                    base = ".".join([*anchor, *([base] if base else [])])
                for alias in node.names:
                    yield module, _resolve(base, alias.name, root)


def _package(module: str) -> str | None:
    parts = module.split(".")
    if parts[0] != "gramstack" or len(parts) < 2:
        return None
    return parts[1]


def upward_arrows(root: Path = ROOT) -> dict[tuple[str, str], list[str]]:
    """Imports between packages that do not run strictly downward, grouped
    by (from package, to package)."""
    arrows: dict[tuple[str, str], list[str]] = {}
    for source, target in imports(root):
        here, there = _package(source), _package(target)
        if here is None or there is None or here == there:
            continue
        if RANK[there] >= RANK[here]:
            arrows.setdefault((here, there), []).append(f"{source} -> {target}")
    return arrows


def _within(module: str, allowed: tuple[str, ...]) -> bool:
    return any(module == a or module.startswith(f"{a}.") for a in allowed)


def test_every_package_has_a_layer() -> None:
    packages = {_package(m) for m, _ in imports()} - {None}
    assert packages <= set(RANK), packages - set(RANK)


def test_the_walk_sees_imports_inside_functions_and_relative_ones(tmp_path: Path) -> None:
    package = tmp_path / "gramstack"
    (package / "domain").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "domain" / "__init__.py").write_text("")
    (package / "domain" / "likes.py").write_text(
        "def f():\n    from gramstack.storage import store\nfrom . import views\n"
    )
    (package / "domain" / "views.py").write_text("")
    (package / "storage").mkdir()
    (package / "storage" / "store.py").write_text("")
    found = set(imports(package))
    assert ("gramstack.domain.likes", "gramstack.storage.store") in found
    assert ("gramstack.domain.likes", "gramstack.domain.views") in found
    (package / "storage" / "store.py").write_text("import gramstack.domain.views\n")
    assert upward_arrows(package) == {
        ("storage", "domain"): ["gramstack.storage.store -> gramstack.domain.views"]
    }


def test_no_import_runs_upward() -> None:
    assert upward_arrows() == {}


def test_storage_is_a_leaf() -> None:
    outside = [
        f"{source} -> {target}"
        for source, target in imports()
        if _package(source) == "storage"
        and target.startswith("gramstack")
        and not _within(target, ("gramstack.storage", "gramstack.records"))
    ]
    assert outside == []


def test_domain_uses_no_driver_and_no_adapter() -> None:
    found = []
    for source, target in imports():
        if _package(source) != "domain":
            continue
        if target.split(".")[0] in DRIVERS:
            found.append(f"{source} -> {target} (driver)")
        elif (
            target.startswith("gramstack.")
            and _package(target) != "domain"
            and not _within(target, DOMAIN_MAY_USE)
            and not target.endswith(".ports")
        ):
            found.append(f"{source} -> {target} (adapter)")
    assert found == []


def test_api_reaches_adapters_only_through_the_domain_or_the_wiring() -> None:
    reached = [
        f"{source} -> {target}"
        for source, target in imports()
        if _package(source) == "api"
        and _package(target) not in (None, "api", "domain", "web", "types", "records", "speedups")
        and not _within(target, API_MAY_USE)
        # A port's own errors (a backend outage is 503) are part of its contract.
        and not target.endswith(".ports")
    ]
    assert reached == []
