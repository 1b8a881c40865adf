"""The host-wide location cache: entries, expiry, collisions, and that
another process sees what one wrote (it is shared memory, not a copy)."""

from __future__ import annotations

import multiprocessing
from pathlib import Path

from gramstack.placement.shared_cache import NO_TARGET, CachedLocation, SharedLocationCache


def _entry(region: int, epoch: int, expires_ms: int = 10_000) -> CachedLocation:
    return CachedLocation(region, NO_TARGET, 0, epoch, expires_ms)


def test_a_stored_entry_is_found_until_it_expires(tmp_path: Path) -> None:
    cache = SharedLocationCache(tmp_path / "p.bin", slots=64)
    assert cache.get(42, now_ms=0) is None
    cache.put(42, CachedLocation(1, 2, 1, 7, 1000))
    found = cache.get(42, now_ms=999)
    assert found == CachedLocation(1, 2, 1, 7, 1000)
    assert isinstance(found, CachedLocation)
    assert (found.region, found.target, found.state, found.epoch) == (1, 2, 1, 7)
    assert cache.get(42, now_ms=1000) is None
    cache.put(42, _entry(0, 8, 5000))
    assert cache.get(42, now_ms=1000) == _entry(0, 8, 5000)
    cache.close()


def test_colliding_users_keep_their_own_entries(tmp_path: Path) -> None:
    # 4 slots for 4 users: every lookup walks past others' slots.
    cache = SharedLocationCache(tmp_path / "p.bin", slots=4)
    for user in (1, 2, 3, 4):
        cache.put(user, _entry(user % 3, user))
    for user in (1, 2, 3, 4):
        assert cache.get(user, 0) == _entry(user % 3, user)
    assert cache.get(5, 0) is None
    cache.close()


def test_a_full_table_evicts_instead_of_failing(tmp_path: Path) -> None:
    cache = SharedLocationCache(tmp_path / "p.bin", slots=2)
    for user in range(1, 50):
        cache.put(user, _entry(1, user))
        assert cache.get(user, 0) == _entry(1, user)
    found = [u for u in range(1, 50) if cache.get(u, 0) is not None]
    assert 1 <= len(found) <= 2
    cache.close()


def _write_from_another_process(path: Path) -> None:
    cache = SharedLocationCache(path, slots=64)
    cache.put(7, _entry(2, 3))
    cache.close()


def test_another_process_sees_the_entry(tmp_path: Path) -> None:
    path = tmp_path / "p.bin"
    cache = SharedLocationCache(path, slots=64)
    child = multiprocessing.get_context("spawn").Process(
        target=_write_from_another_process, args=(path,)
    )
    child.start()
    child.join(30)
    assert child.exitcode == 0
    assert cache.get(7, 0) == _entry(2, 3)
    cache.close()
