"""``gramstack worker`` as its own process, beside a server that runs no
jobs (``run_jobs_in_server`` off): it fans posts out, stops cleanly on
SIGTERM, and a worker killed while holding a job loses nothing."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.api.conftest import (
    API,
    Account,
    eventually,
    follow,
    ids,
    paginate,
    post_media,
    signup_user,
)
from tests.support.server import ServerProcess, start_server
from tests.support.worker import start_worker

FEED = f"{API}/feed"
NO_JOBS = {"GRAMSTACK_RUN_JOBS_IN_SERVER": "0", "GRAMSTACK_JOB_CLAIM_S": "2"}


@pytest.fixture
def server(tmp_path: Path) -> Iterator[ServerProcess]:
    proc = start_server(tmp_path / "data", env=NO_JOBS, workers=1)
    yield proc
    assert proc.stop() == 0, proc.log()


@pytest.fixture
def http(server: ServerProcess) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.base_url, timeout=30) as client:
        yield client


def _feed(http: httpx.Client, account: Account) -> list[str]:
    return ids(paginate(http, FEED, account, limit=100))


def _jobs(data_dir: Path) -> list[tuple[str, int, int]]:
    """(kind, attempts, claimed_until) of every queued job."""
    with sqlite3.connect(data_dir / "gramstack.db", timeout=10) as db:
        rows = db.execute("SELECT kind, attempts, claimed_until FROM jobs").fetchall()
    return [(str(k), int(a), int(c)) for k, a, c in rows]


def test_the_worker_process_runs_the_jobs_the_server_leaves(
    http: httpx.Client, server: ServerProcess
) -> None:
    author, reader = signup_user(http), signup_user(http)
    follow(http, reader, author.username)
    posted = post_media(http, author, caption="fanned out by the worker")
    time.sleep(0.5)
    assert posted["id"] not in _feed(http, reader)  # no job runs in the server
    assert any(kind == "fanout_media" for kind, _, _ in _jobs(server.data_dir))

    worker = start_worker(server.data_dir, "worker", NO_JOBS)
    try:
        eventually(lambda: _feed(http, reader) == [posted["id"]], timeout=10)
        eventually(lambda: _jobs(server.data_dir) == [], timeout=10)
    finally:
        code = worker.terminate()
    log = worker.log()
    assert code == 0, log
    assert log.count("gramstack.worker: worker started") == 1, log
    assert log.count("gramstack.worker: worker stopped") == 1, log
    assert "worker started region=local" in log and "claim=2.0s" in log, log
    assert "jobs_run=" in log and "jobs_run=0" not in log, log


def _activity(http: httpx.Client, account: Account) -> list[tuple[str, str]]:
    items = paginate(http, f"{API}/activity", account, limit=100)
    return [(item["type"], item["actor"]["id"]) for item in items]


def test_a_worker_killed_mid_job_loses_nothing(http: httpx.Client, server: ServerProcess) -> None:
    author, reader = signup_user(http), signup_user(http)
    crashed = start_worker(server.data_dir, "crashed", NO_JOBS)
    # Hold the regional store's write lock, then follow (the author has no
    # posts, so the follow itself writes nothing there): the worker claims
    # the inbox job, blocks inside it, and is killed there.
    regional = sqlite3.connect(server.data_dir / "regions" / "local.db", timeout=10)
    regional.execute("BEGIN EXCLUSIVE")
    try:
        follow(http, reader, author.username)

        def claimed() -> bool:
            now_ms = time.time_ns() // 1_000_000
            return any(k == "inbox_add" and c > now_ms for k, _, c in _jobs(server.data_dir))

        eventually(claimed, timeout=10)
        crashed.kill()
    finally:
        regional.rollback()
        regional.close()
    assert [(k, a) for k, a, _ in _jobs(server.data_dir)] == [("inbox_add", 1)]
    assert _activity(http, author) == []

    # Once the dead worker's claim runs out, another worker runs the job.
    survivor = start_worker(server.data_dir, "survivor", NO_JOBS)
    try:
        eventually(lambda: _activity(http, author) == [("follow", reader.id)], timeout=15)
        eventually(lambda: _jobs(server.data_dir) == [], timeout=10)
    finally:
        assert survivor.terminate() == 0, survivor.log()
