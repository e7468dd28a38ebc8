"""`ioc tasks` and `ioc sitrep`: dispatch and the situation report, for drills and automation
(recorded and audited exactly like the wall's and the agencies' own actions)."""

from __future__ import annotations

import sys
from datetime import datetime, timezone

import click

from ioc.cli import _actor, _app_connection, _fail, main


@main.group()
def tasks() -> None:
    """Tasks dispatched to agencies."""


@tasks.command("create")
@click.option("--agency", required=True, help="Agency code (schemas/agencies.yaml).")
@click.option("--title", required=True, help="What the agency must do.")
@click.option("--priority", type=click.IntRange(1, 3), required=True, help="1 (most urgent) to 3.")
@click.option("--detail", default=None, help="More detail for the agency.")
@click.option("--from-alert", "alert", default=None, metavar="ID", help="CAP identifier of the alert.")
@click.option("--from-incident", "incident", default=None, metavar="ID", help="Incident id.")
@click.option("--lon", type=float, default=None, help="Longitude of a map point.")
@click.option("--lat", type=float, default=None, help="Latitude of a map point.")
def tasks_create(agency, title, priority, detail, alert, incident, lon, lat) -> None:
    """Dispatch a task; prints the new task's id as the last word."""
    from ioc.ops.tasks import NewTask, TaskError, create_task

    if alert and incident:
        _fail("give --from-alert or --from-incident, not both")
    if (lon is None) != (lat is None):
        _fail("give both --lon and --lat")
    source, ref = ("alert", alert) if alert else ("incident", incident) if incident else \
        ("map", None) if lon is not None else ("manual", None)
    try:
        with _app_connection() as conn:
            task = create_task(conn, NewTask(agency, title, priority, source, ref, lon, lat, detail),
                               actor=_actor(), role="cli")
    except TaskError as exc:
        _fail(str(exc))
    click.echo(f"task for {task['agency']} (P{task['priority']}, acknowledge by "
               f"{task['ack_deadline'].astimezone(timezone.utc).isoformat()}): {task['id']}")


@tasks.command("list")
@click.option("--agency", default=None, help="Only this agency's tasks.")
@click.option("--all", "show_all", is_flag=True, help="Closed tasks too.")
def tasks_list(agency: str | None, show_all: bool) -> None:
    """Tasks, open ones first: id, agency, priority, status, escalated, deadline, title."""
    from ioc.ops.tasks import list_tasks

    with _app_connection() as conn:
        rows = list_tasks(conn, agency=agency, open_only=not show_all, limit=1000)
    for r in rows:
        click.echo("\t".join([str(r["id"]), r["agency"], f"P{r['priority']}", r["status"],
                              "escalated" if r["escalated_at"] else "-",
                              r["ack_deadline"].astimezone(timezone.utc).isoformat(), r["title"]]))


@main.command("sitrep")
@click.option("--as-of", default=None, help="The moment (ISO 8601; Taipei time without offset). Default: now.")
@click.option("--lang", type=click.Choice(["zh-TW", "en"]), default="zh-TW")
@click.option("--pdf", "as_pdf", is_flag=True, help="PDF instead of HTML.")
@click.option("-o", "--output", type=click.Path(dir_okay=False, allow_dash=True), default="-")
def sitrep(as_of: str | None, lang: str, as_pdf: bool, output: str) -> None:
    """Write the situation report of a moment (HTML or PDF)."""
    from ioc.ops import sitrep as report

    moment = datetime.now(timezone.utc)
    if as_of:
        try:
            moment = datetime.fromisoformat(as_of)
        except ValueError:
            _fail(f"--as-of {as_of!r} is not an ISO 8601 time")
        if moment.tzinfo is None:
            from zoneinfo import ZoneInfo

            moment = moment.replace(tzinfo=ZoneInfo("Asia/Taipei"))
    with _app_connection() as conn:
        data = report.build(conn, moment)
    html = report.render_html(data, lang)
    body = report.render_pdf(html) if as_pdf else html.encode("utf-8")
    if output == "-":
        sys.stdout.buffer.write(body)
    else:
        with open(output, "wb") as f:
            f.write(body)
        click.echo(f"wrote {output}", err=True)
