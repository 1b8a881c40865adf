from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest

from gramstack.cache.memcached import MemcachedLeaseCache
from gramstack.cache.memcached_pool import MemcachedPool
from gramstack.cache.memory import InProcessLeaseCache
from gramstack.cache.ports import LeaseCache
from gramstack.runtime.devcluster.memcached import (
    MemcachedProcess,
    memcached_binary,
    start_memcached,
    start_pool,
    stop_memcached,
)

LEASE_S = 2
CONTRACT_TIMEOUT_S = 10.0


@pytest.fixture(scope="session")
def memcached_server() -> Iterator[MemcachedProcess]:
    """One real memcached for the unit tests; each test uses its own keys."""
    if memcached_binary() is None:
        pytest.fail("memcached is not installed (make test-deps installs it)")
    server = start_memcached()
    yield server
    stop_memcached(server)


@pytest.fixture
def three_servers() -> Iterator[list[MemcachedProcess]]:
    """Three memcached processes of the test's own, which it may kill."""
    servers = start_pool(3)
    yield servers
    for server in servers:
        stop_memcached(server)


@pytest.fixture(params=["memory", "memcached"])
async def cache(request: pytest.FixtureRequest) -> AsyncIterator[LeaseCache]:
    """Each backend in turn: the contract tests hold for both."""
    backend: LeaseCache
    if request.param == "memory":
        backend = InProcessLeaseCache(1 << 20, lease_s=LEASE_S)
    else:
        server: MemcachedProcess = request.getfixturevalue("memcached_server")
        # The contract is about leases on a healthy server. Under a loaded
        # machine a memcached reply can take longer than the production
        # client timeout (0.5 s); the pool would then route around the server
        # and callers would load from the store, which is right for a stalled
        # server but not what these tests check. Server failures have their
        # own tests (test_memcached_pool.py).
        pool = MemcachedPool([server.endpoint], timeout_s=CONTRACT_TIMEOUT_S)
        backend = MemcachedLeaseCache(pool, lease_s=LEASE_S, lease_wait_s=CONTRACT_TIMEOUT_S)
    yield backend
    await backend.close()
