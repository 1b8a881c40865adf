"""``gramstack worker``: the job queue's worker as a process of its own.

The scaled setup turns ``run_jobs_in_server`` off and runs as many of
these as the fan-out needs; they share the queue through claims. SIGTERM
lets the job in hand finish (a job cut off is run again after its claim
runs out, so stopping is never a loss).
"""

from __future__ import annotations

import asyncio
import logging
import signal

from gramstack.runtime.config import Settings
from gramstack.runtime.wiring import open_backends

log = logging.getLogger("gramstack.worker")


async def serve_worker(settings: Settings) -> None:
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stopping.set)
    async with open_backends(settings, run_jobs=True) as running:
        assert running.jobs is not None
        log.info(
            "worker started region=%s database=%s regions=%s poll_interval=%ss claim=%ss"
            " pull_threshold=%s",
            settings.region,
            "postgresql" if settings.database_url else f"sqlite:{settings.sqlite_path}",
            ",".join(settings.all_regions),
            settings.job_poll_interval_s,
            settings.job_claim_s,
            settings.fanout_pull_threshold,
        )
        await stopping.wait()
        jobs = running.jobs
    log.info("worker stopped region=%s jobs_run=%s", settings.region, jobs.jobs_run)
