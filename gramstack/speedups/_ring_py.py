from __future__ import annotations

import bisect
import hashlib
from collections.abc import Sequence


def _hash(data: bytes) -> int:
    return int.from_bytes(hashlib.blake2b(data, digest_size=8).digest(), "big")


class HashRing:
    def __init__(self, nodes: Sequence[str], vnodes: int = 160) -> None:
        if not nodes:
            raise ValueError("a hash ring needs at least one node")
        if vnodes < 1:
            raise ValueError("a hash ring needs at least one point per node")
        self.nodes: tuple[str, ...] = tuple(dict.fromkeys(nodes))
        points = sorted(
            (_hash(f"{node}#{i}".encode()), node) for node in self.nodes for i in range(vnodes)
        )
        self._hashes = [h for h, _ in points]
        self._owners = [node for _, node in points]

    def node_for(self, key: str) -> str:
        index = bisect.bisect_left(self._hashes, _hash(key.encode()))
        return self._owners[index % len(self._owners)]
