"""Run every job on its interval, each in its own thread; a failing run is logged and retried
at the next interval, never fatal."""

from __future__ import annotations

import logging
import threading
import time

from . import JobContext, all_jobs

log = logging.getLogger(__name__)


def run_jobs(db_url: str, owner_url: str, mqtt_url: str | None, stop: threading.Event,
             only: set[str] | None = None) -> None:
    threads = []
    for job in all_jobs():
        if only and job.name not in only:
            continue
        ctx = JobContext(db_url, owner_url, mqtt_url, stop, {})
        thread = threading.Thread(target=_loop, args=(job, ctx), name=f"job-{job.name}", daemon=True)
        thread.start()
        threads.append(thread)
    log.info("jobs running: %s", ", ".join(j.name for j in all_jobs() if not only or j.name in only) or "none")
    stop.wait()
    for thread in threads:
        thread.join(timeout=10)


def _loop(job, ctx: JobContext) -> None:
    while not ctx.stop.is_set():
        started = time.monotonic()
        try:
            job.run(ctx)
        except Exception:  # noqa: BLE001 - keep the job alive; the next run may succeed
            log.exception("job %s failed", job.name)
        ctx.stop.wait(max(0.0, job.interval_s - (time.monotonic() - started)))
