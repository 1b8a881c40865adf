"""``/readyz`` with a region down: a server is ready while everything of its
own region answers, and shows another region's store as ``remote`` without
failing; the server whose home is the stopped region is not ready.

Two servers (homes ``us`` and ``eu``) on SQLite, each with the ``eu``
regional store on a real PostgreSQL of its own, which the test stops the way
a crash would."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from gramstack.runtime import devcluster
from gramstack.runtime.devcluster import ClusterState
from gramstack.runtime.devcluster import postgres as pg
from tests.support.server import ServerProcess, start_server


@pytest.fixture(scope="module")
def eu_postgres() -> Iterator[ClusterState]:
    # Not tmp_path: the server runs as the postgres user (see devcluster).
    directory = Path(tempfile.mkdtemp(prefix="gramstack-test-readiness-"))
    try:
        yield devcluster.up(directory, followers=0)
    finally:
        if (directory / "cluster.json").exists():
            devcluster.down(directory)
        shutil.rmtree(directory, ignore_errors=True)


def _server(cluster: ClusterState, home: str, data_dir: Path) -> ServerProcess:
    return start_server(
        data_dir,
        {
            "GRAMSTACK_REGIONS": "us,eu",
            "GRAMSTACK_REGION": home,
            "GRAMSTACK_REGIONAL_URLS": f"eu={cluster.database_url}",
        },
    )


def test_a_stopped_remote_region_is_reported_not_required(
    eu_postgres: ClusterState, tmp_path: Path
) -> None:
    in_us = _server(eu_postgres, "us", tmp_path / "us")
    in_eu = _server(eu_postgres, "eu", tmp_path / "eu")
    try:
        for server in (in_us, in_eu):
            ready = httpx.get(server.base_url + "/readyz", timeout=10)
            assert ready.status_code == 200, ready.text
        body = httpx.get(in_us.base_url + "/readyz", timeout=10).json()
        assert body["checks"]["region:us"] == "ok" and "region:eu" not in body["checks"]
        assert body["remote"] == {"eu": "ok"}

        pg.stop(
            Path(eu_postgres.bindir),
            Path(eu_postgres.leader.data),
            eu_postgres.user,
            mode="immediate",
        )

        ready = httpx.get(in_us.base_url + "/readyz", timeout=10)
        assert ready.status_code == 200, ready.text
        assert ready.json()["status"] == "ok"
        assert ready.json()["remote"] == {"eu": "down"}

        # eu is the other server's own region: that one is out of rotation.
        not_ready = httpx.get(in_eu.base_url + "/readyz", timeout=10)
        assert not_ready.status_code == 503, not_ready.text
        body = not_ready.json()
        assert body["error"]["code"] == "unavailable"
        assert "region:eu" in body["error"]["message"]
        assert body["checks"]["region:eu"].startswith("failing")
        assert body["remote"] == {"us": "ok"}
    finally:
        in_us.stop()
        in_eu.stop()
