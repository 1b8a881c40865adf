"""The job worker: claims durable jobs from the primary store and runs their
handlers. One runs inside every server worker process by default
(``run_jobs_in_server``), and in each ``gramstack worker`` process; claims
let them share the queue. Delivery is at least once: a job is deleted only
after its handler returned, and a worker that dies holding a job lets its
claim expire so another worker takes it. A handler may hand its job on to
something that finishes it later (a webhook delivery in flight): the job
then stays claimed, and is deleted by whoever finishes it, so a crash in
between still lets the claim run out and the job run again."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from prometheus_client import Counter

from gramstack.domain.backends import Backends
from gramstack.records import Job

# Carries out one claimed job (``domain.fanout.run_job``); raises to retry it.
# Returns True when the job is done, False when it was handed on (the job
# stays claimed; the new holder completes it).
RunJob = Callable[[Backends, Job], Awaitable[bool]]

log = logging.getLogger("gramstack.jobs")

JOBS_DONE = Counter("gramstack_jobs_total", "Jobs run, by kind and outcome", ["kind", "outcome"])

CLAIM_MS = 60_000  # the default claim; ``job_claim_s`` sets it
MAX_BACKOFF_MS = 300_000


class JobWorker:
    def __init__(
        self, backends: Backends, run_job: RunJob, poll_interval_s: float, claim_ms: int = CLAIM_MS
    ) -> None:
        self._b = backends
        self._run_job = run_job
        self._poll = poll_interval_s
        self._claim_ms = claim_ms
        self.jobs_run = 0
        self._stopping = asyncio.Event()
        self._wake = asyncio.Event()

    def wake(self) -> None:
        """Look for work now instead of at the next poll."""
        self._wake.set()

    def stop(self) -> None:
        self._stopping.set()
        self._wake.set()

    async def run_once(self) -> bool:
        """Run one ready job; False when there was none."""
        job = await self._b.store.queue.claim_job(self._b.clock_ms(), self._claim_ms)
        if job is None:
            return False
        await self._run(job)
        return True

    async def _run(self, job: Job) -> None:
        try:
            done = await self._run_job(self._b, job)
        except Exception as exc:
            backoff = min(MAX_BACKOFF_MS, 1000 * 2 ** min(job.attempts, 20))
            log.warning("job %s (%s) failed, attempt %s: %r", job.id, job.kind, job.attempts, exc)
            await self._b.store.queue.retry_job(job.id, self._b.clock_ms() + backoff, repr(exc))
            JOBS_DONE.labels(job.kind, "retry").inc()
        else:
            if done:
                await self._b.store.queue.complete_job(job.id)
            JOBS_DONE.labels(job.kind, "done" if done else "handed_on").inc()
            self.jobs_run += 1

    async def run(self) -> None:
        log.info("job worker started poll_interval=%ss claim=%sms", self._poll, self._claim_ms)
        while not self._stopping.is_set():
            try:
                while not self._stopping.is_set() and await self.run_once():
                    pass
            except Exception:
                log.exception("job worker loop error")
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self._poll)
        log.info("job worker stopped")
