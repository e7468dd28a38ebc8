"""`ioc poll`: the HTTP pollers (CWA, NCDR CAP, Civil IoT SensorThings, TDX)."""

from __future__ import annotations

import logging
import signal
import sys
import threading

import click

from ioc import settings
from ioc.cli import main

log = logging.getLogger("ioc.poll")


@main.command("poll")
@click.option("--only", multiple=True, metavar="NAME", help="Run only this poller (repeatable); "
              "overrides IOC_POLL_SOURCES, still needs the poller's key.")
@click.option("--once", is_flag=True, help="One round of each poller, then exit (status 1 if any failed).")
@click.option("--list", "list_only", is_flag=True, help="Name every poller, its interval and whether it runs.")
def poll(only: tuple[str, ...], once: bool, list_only: bool) -> None:
    """Poll the HTTP sources into the database, through the same pipeline as MQTT messages."""
    from ingest.sources.http import run_pollers
    from ingest.sources.polls import all_specs, options, redactor, select

    try:
        chosen, off = select(only)
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None
    if list_only:
        for name, spec in all_specs().items():
            state = "runs" if spec in chosen else f"off: {off.get(name, '')}"
            click.echo(f"{name}\tevery {spec.interval_s:g} s\t{state}\t{spec.description}")
        return
    for name, why in off.items():
        (log.warning if name in only else log.info)("poller %s does not run: %s", name, why)

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    if not chosen:
        if once:
            click.echo("no HTTP source is configured (see `ioc poll --list`)", err=True)
            return
        # Nothing configured: stay up quietly, so a supervisor does not restart us in a loop.
        log.info("no HTTP source is configured (IOC_POLL_SOURCES=%s); idle", settings.get("IOC_POLL_SOURCES"))
        stop.wait()
        return

    from ioc.services import endpoints

    port = settings.get_int("IOC_POLL_METRICS_PORT")
    if port and not once:
        from prometheus_client import start_http_server

        start_http_server(port, addr=settings.get("IOC_INGEST_METRICS_HOST") or "127.0.0.1")
    # Only the database is needed (not the broker): its URL, else the local cluster's.
    db_url = settings.get("IOC_DATABASE_URL") or endpoints().database_url
    ok = run_pollers(chosen, db_url, options(), stop, once=once, redact=redactor())
    if once and not ok:
        sys.exit(1)
