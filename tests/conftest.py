from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from gramstack.runtime.devcluster import ClusterState
from tests.support.postgres import start_cluster, stop_cluster
from tests.support.server import ServerProcess, start_server, use_backend

# The API suite runs once per primary-store backend; GRAMSTACK_TEST_BACKENDS
# narrows it (e.g. "sqlite" on a machine without PostgreSQL).
BACKENDS = ("sqlite", "postgres")
_API_TESTS = Path(__file__).parent / "api"


def _backends() -> list[str]:
    chosen = os.environ.get("GRAMSTACK_TEST_BACKENDS", ",".join(BACKENDS)).split(",")
    return [b for b in BACKENDS if b in chosen]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "server" in metafunc.fixturenames and _API_TESTS in metafunc.definition.path.parents:
        metafunc.parametrize("server", _backends(), indirect=True, scope="session")


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[ClusterState]:
    """A PostgreSQL leader and one follower (region ``local``) for the session."""
    state = start_cluster(followers=1)
    yield state
    stop_cluster(state)


@pytest.fixture(scope="session")
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServerProcess]:
    """One real server process (two prefork workers) shared by the API tests,
    on SQLite or on the PostgreSQL leader and follower (parametrized)."""
    backend = getattr(request, "param", "sqlite")
    env: dict[str, str] = {}
    if backend == "postgres":
        cluster: ClusterState = request.getfixturevalue("pg_cluster")
        env = {**cluster.env, "GRAMSTACK_EXPOSE_BACKEND_HEADER": "1"}
    use_backend(env)
    try:
        proc = start_server(
            Path(tmp_path_factory.mktemp(f"server-{backend}")), workers=2, on_test_backend=True
        )
        yield proc
        code = proc.stop()
        assert code == 0, proc.log()
    finally:
        use_backend({})


@pytest.fixture
def http(server: ServerProcess) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.base_url, timeout=30) as client:
        yield client
