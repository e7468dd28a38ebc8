"""`ioc jobs`: the periodic jobs (escalations, live coverage, retention, ...)."""

from __future__ import annotations

import signal
import threading

import click

from ioc.cli import main


@main.group()
def jobs() -> None:
    """Periodic jobs of the operations center."""


@jobs.command("list")
def jobs_list() -> None:
    """Name every job and its interval."""
    from ioc.jobs import all_jobs

    for job in all_jobs():
        click.echo(f"{job.name}\tevery {job.interval_s:g} s\t{job.description}")


@jobs.command("run")
@click.option("--only", multiple=True, help="Run only these jobs (repeatable).")
def jobs_run(only: tuple[str, ...]) -> None:
    """Run every job on its interval until stopped."""
    from ioc.jobs._runner import run_jobs
    from ioc.services import endpoints

    ep = endpoints()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    run_jobs(ep.database_url, ep.database_owner_url, ep.mqtt_url, stop, set(only) or None)
