"""Region names of a dev cluster: the defaults, and ``--regions`` parsed."""

from __future__ import annotations

from gramstack.runtime.devcluster import postgres as pg

REGIONS = ("local", "eu", "ap", "us", "sa", "af")


def region_names(count: int) -> list[str]:
    return [REGIONS[i] if i < len(REGIONS) else f"r{i}" for i in range(count)]


def parse_regions(text: str) -> list[str]:
    """``"us,eu,ap"`` as a list; names must be simple and distinct."""
    regions = [name.strip() for name in text.split(",") if name.strip()]
    if not regions:
        raise pg.DevClusterError("--regions needs at least one region name")
    for name in regions:
        if not name.isidentifier() or not name.isascii():
            raise pg.DevClusterError(f"region name {name!r} must be a simple name like eu")
    if len(set(regions)) != len(regions):
        raise pg.DevClusterError(f"region names repeat in {text!r}")
    return regions
