"""Consistent hashing over memcached servers.

Each server owns many points (virtual nodes) on a 64-bit ring and a key
goes to the first point at or after its hash. Adding or removing one of N
servers moves only the keys of the points that changed hands, about 1/N of
them, where ``hash % N`` would move almost all.
"""

from __future__ import annotations

from gramstack.speedups.ring import HashRing

__all__ = ["HashRing"]
