from __future__ import annotations

from types import ModuleType

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.unit.speedups.conftest import load

# Every test here runs with each BLAKE2b of the compiled module (conftest.blake2b).
pytestmark = pytest.mark.usefixtures("blake2b")

NODES = [f"10.0.0.{i}:11211" for i in range(6)]


@pytest.fixture(scope="module")
def ring(implementation: str) -> ModuleType:
    return load("ring", implementation)


def test_nodes_keep_their_first_order_without_duplicates(ring: ModuleType) -> None:
    assert ring.HashRing(["b", "a", "b", "c"]).nodes == ("b", "a", "c")


def test_one_node_owns_every_key(ring: ModuleType) -> None:
    hash_ring = ring.HashRing(["only:11211"], vnodes=1)
    assert {hash_ring.node_for(f"k{i}") for i in range(1000)} == {"only:11211"}


@pytest.mark.parametrize(("nodes", "vnodes"), [([], 160), (NODES, 0)])
def test_a_ring_without_points_is_refused(ring: ModuleType, nodes: list[str], vnodes: int) -> None:
    with pytest.raises(ValueError):
        ring.HashRing(nodes, vnodes=vnodes)


@given(key=st.text(max_size=300), vnodes=st.sampled_from([1, 3, 160]))
def test_both_implementations_place_every_key_alike(key: str, vnodes: int) -> None:
    """Processes with and without extensions must agree on where a key lives."""
    compiled = load("ring", "compiled").HashRing(NODES, vnodes=vnodes)
    twin = load("ring", "twin").HashRing(NODES, vnodes=vnodes)
    assert compiled.node_for(key) == twin.node_for(key)


def test_keys_past_the_last_point_wrap_to_the_first(ring: ModuleType) -> None:
    # With one point per node, many keys hash past the highest point.
    hash_ring = ring.HashRing(NODES, vnodes=1)
    twin = load("ring", "twin").HashRing(NODES, vnodes=1)
    keys = [f"v1:user:{i}" for i in range(5000)]
    assert [hash_ring.node_for(k) for k in keys] == [twin.node_for(k) for k in keys]


# Placed by the twin (hashlib.blake2b) before the compiled module changed: a
# deploy must not move cached keys to other servers.
KNOWN_PLACEMENT = {
    "v1:media:1": 1,
    "v1:user:42": 1,
    "v1:session:abc": 0,
    "v1:feed:7:0": 5,
    "": 1,
    "é-ключ": 3,
    "x" * 200: 5,
}


@pytest.mark.parametrize(("key", "node"), KNOWN_PLACEMENT.items())
def test_known_keys_stay_where_they_were(ring: ModuleType, key: str, node: int) -> None:
    assert ring.HashRing(NODES).node_for(key) == NODES[node]


def test_keys_of_every_length_up_to_three_blocks_are_placed_as_the_twin_places_them(
    ring: ModuleType,
) -> None:
    """BLAKE2b works in 128-byte blocks: lengths on and around each boundary."""
    hash_ring = ring.HashRing(NODES)
    twin = load("ring", "twin").HashRing(NODES)
    keys = [("k" + "0123456789" * 40)[:length] for length in range(400)]
    keys += [f"v1:media:{i}" for i in range(2000)]
    assert [hash_ring.node_for(k) for k in keys] == [twin.node_for(k) for k in keys]


def test_the_compiled_module_hashes_with_the_blake2b_it_is_given(blake2b: str) -> None:
    compiled = load("ring", "compiled")
    assert compiled._use_blake2b(blake2b) == blake2b
    assert compiled._use_blake2b("portable") == "portable"
    assert compiled._use_blake2b("fastest") in {"avx512", "avx2", "portable"}
    with pytest.raises(ValueError):
        compiled._use_blake2b("sse9")
    compiled._use_blake2b(blake2b)
