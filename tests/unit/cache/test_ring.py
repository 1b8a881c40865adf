from __future__ import annotations

from typing import Any

import pytest

from gramstack.speedups import _ring, _ring_py

KEYS = [f"v1:media:{i}" for i in range(50_000)]


# The same tests on the compiled ring and on its pure-Python twin.
@pytest.fixture(params=[_ring.HashRing, _ring_py.HashRing], ids=["compiled", "twin"])
def ring_class(request: pytest.FixtureRequest) -> Any:
    return request.param


def _placement(ring: Any) -> dict[str, str]:
    return {key: ring.node_for(key) for key in KEYS}


def test_keys_spread_over_every_server(ring_class: Any) -> None:
    nodes = [f"10.0.0.{i}:11211" for i in range(8)]
    counts: dict[str, int] = {}
    for node in _placement(ring_class(nodes)).values():
        counts[node] = counts.get(node, 0) + 1
    assert set(counts) == set(nodes)
    assert max(counts.values()) < 1.35 * len(KEYS) / len(nodes)


def test_adding_one_of_n_servers_moves_about_1_over_n_keys(ring_class: Any) -> None:
    nodes = [f"10.0.0.{i}:11211" for i in range(9)]
    before = _placement(ring_class(nodes))
    after = _placement(ring_class([*nodes, "10.0.0.99:11211"]))
    moved = [k for k in KEYS if before[k] != after[k]]
    assert 0.06 < len(moved) / len(KEYS) < 0.14  # about 1/10
    assert all(after[k] == "10.0.0.99:11211" for k in moved)  # only to the new one


def test_removing_one_of_n_servers_moves_only_its_keys(ring_class: Any) -> None:
    nodes = [f"10.0.0.{i}:11211" for i in range(10)]
    before = _placement(ring_class(nodes))
    after = _placement(ring_class(nodes[1:]))
    moved = [k for k in KEYS if before[k] != after[k]]
    assert 0.06 < len(moved) / len(KEYS) < 0.14
    assert all(before[k] == nodes[0] for k in moved)


def test_placement_does_not_depend_on_server_order(ring_class: Any) -> None:
    nodes = [f"10.0.0.{i}:11211" for i in range(5)]
    assert _placement(ring_class(nodes)) == _placement(ring_class(list(reversed(nodes))))
