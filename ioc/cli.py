"""`ioc`: the one command of the operations center.

Subcommands that work on files (`feeds parse`, `coverage compute --stations`, `kpi evaluate`)
need no service and print only their result on stdout; logs always go to stderr.
"""

from __future__ import annotations

import logging
import sys
import threading

import click
import orjson

from . import settings


def _setup_logging() -> None:
    logging.basicConfig(level=getattr(logging, str(settings.get("IOC_LOG_LEVEL")).upper(), logging.INFO),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """Taichung Intelligent Operations Center (臺中市智慧營運中心)."""
    _setup_logging()


# -- the whole system ----------------------------------------------------------------------------
@main.command()
@click.option("--no-simulator", is_flag=True, help="Do not start the simulator.")
def up(no_simulator: bool) -> None:
    """Start everything on local defaults (what `make demo` runs); Ctrl-C stops it all."""
    from .supervisor import up as run_up

    sys.exit(run_up(with_simulator=not no_simulator))


@main.group()
def services() -> None:
    """The project-local PostgreSQL and Mosquitto under IOC_HOME."""


@services.command("start")
def services_start() -> None:
    """Start the local services (in the background) and apply migrations."""
    from .db import migrate
    from .services import endpoints, start_local

    start_local()
    migrate(endpoints().database_owner_url)
    click.echo("services running")


@services.command("stop")
def services_stop() -> None:
    """Stop the local services."""
    from .services import local_mosquitto, local_postgres, uses_local_broker, uses_local_database

    if uses_local_broker():
        local_mosquitto().stop()
    if uses_local_database():
        local_postgres().stop()
    click.echo("services stopped")


@services.command("status")
def services_status() -> None:
    """Show whether the local services run, and where."""
    from .services import local_mosquitto, local_postgres

    pg, broker = local_postgres(), local_mosquitto()
    click.echo(f"postgres   127.0.0.1:{pg.port}  {'running' if pg.is_running() else 'stopped'}  {pg.data_dir}")
    click.echo(f"mosquitto  127.0.0.1:{broker.port}  {'running' if broker.is_running() else 'stopped'}  {broker.dir}")


@main.command("settings")
@click.option("--markdown", is_flag=True, help="Print the documentation table (as in the README).")
def show_settings(markdown: bool) -> None:
    """Print every IOC_* setting and its value (secrets masked)."""
    if markdown:
        click.echo(settings.markdown_table())
        return
    for s in settings.SETTINGS:
        click.echo(f"{s.name}={settings.masked(s.name)}")


# -- database -----------------------------------------------------------------------------------
@main.group()
def db() -> None:
    """The database schema."""


@db.command("migrate")
def db_migrate() -> None:
    """Apply the SQL migrations in schemas/sql that are not applied yet."""
    from .db import migrate
    from .services import endpoints

    applied = migrate(endpoints().database_owner_url)
    click.echo("applied: " + ", ".join(applied) if applied else "up to date")


# -- ingest -------------------------------------------------------------------------------------
@main.group()
def ingest() -> None:
    """Ingest workers."""


@ingest.command("mqtt")
@click.option("--client-id", default=None, help="MQTT client id (default IOC_INGEST_CLIENT_ID).")
@click.option("--shared-group", default=None, help="Subscribe as part of this shared-subscription group.")
def ingest_mqtt(client_id: str | None, shared_group: str | None) -> None:
    """Subscribe to every feed's topics and write to TimescaleDB (ack after commit)."""
    from ingest.worker import WorkerOptions, run_worker

    from .services import endpoints

    ep = endpoints()
    options = WorkerOptions(
        client_id=client_id or settings.get("IOC_INGEST_CLIENT_ID"),
        shared_group=shared_group if shared_group is not None else settings.get("IOC_INGEST_SHARED_GROUP"),
        batch=settings.get_int("IOC_INGEST_BATCH"),
        flush_ms=settings.get_int("IOC_INGEST_FLUSH_MS"),
        max_inflight=settings.get_int("IOC_INGEST_MAX_INFLIGHT"),
        ca_file=settings.get("IOC_MQTT_CA_FILE"),
        metrics_port=settings.get_int("IOC_INGEST_METRICS_PORT"),
        metrics_host=settings.get("IOC_INGEST_METRICS_HOST"),
    )
    run_worker(ep.database_url, ep.mqtt_url, options)


@main.command()
@click.option("--rate", type=float, default=None, help="Detector readings per second (IOC_SIM_RATE).")
@click.option("--scenario", type=click.Choice(["normal", "typhoon", "earthquake"]), default=None)
@click.option("--duration", type=float, default=None, help="Stop after this many seconds.")
@click.option("--speed", type=float, default=None,
              help="Scenario seconds per real second (default: the scenario's; typhoon 60, earthquake 30).")
@click.option("--seed", type=int, default=7, show_default=True, help="Seed: the same seed gives the same run.")
@click.option("--bts-refresh", type=float, default=None,
              help="Real seconds in which every base station is sent once (default 240).")
def simulate(rate: float | None, scenario: str | None, duration: float | None, speed: float | None, seed: int,
             bts_refresh: float | None) -> None:
    """Publish live messages on real Taichung geography."""
    import signal

    from ingest.simulate.runner import run

    from .services import endpoints

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    sent = run(endpoints().mqtt_publish_url, rate=rate or float(settings.get("IOC_SIM_RATE")),
               scenario=scenario or settings.get("IOC_SIM_SCENARIO"), stop=stop, duration_s=duration,
               ca_file=settings.get("IOC_MQTT_CA_FILE"), speed=speed, seed=seed, bts_refresh_s=bts_refresh)
    click.echo(f"published {sent} messages", err=True)


# -- dashboard ----------------------------------------------------------------------------------
@main.command()
@click.option("--host", default=None, help="Listen address (IOC_DASHBOARD_HOST).")
@click.option("--port", type=int, default=None, help="Port (IOC_DASHBOARD_PORT).")
def dashboard(host: str | None, port: int | None) -> None:
    """Serve the dashboard (the wall is /wall)."""
    from dashboard.app import create_app, serve

    from .services import endpoints

    app = create_app(endpoints().database_url, refresh_ms=settings.get_int("IOC_REFRESH_MS"))
    serve(app, host or settings.get("IOC_DASHBOARD_HOST"), port or settings.get_int("IOC_DASHBOARD_PORT"),
          threads=settings.get_int("IOC_DASHBOARD_THREADS"))


# -- users, sessions, tokens ----------------------------------------------------------------------
def _app_connection():
    from .db import connect
    from .services import endpoints

    return connect(endpoints().database_url, autocommit=True, application_name="ioc-cli")


def _actor() -> str:
    import getpass

    return f"cli:{getpass.getuser()}"


@main.group()
def users() -> None:
    """People who sign in to the dashboard, and their roles."""


@users.command("add")
@click.argument("name")
@click.option("--role", required=True, help="leadership, duty_officer, coordinator, kpi_staff, admin or wall.")
@click.option("--password-stdin", is_flag=True, required=True, help="Read the password from standard input.")
def users_add(name: str, role: str, password_stdin: bool) -> None:
    """Add a user (the password is read from stdin, never from the command line)."""
    from dashboard.auth import store
    from dashboard.auth.passwords import WeakPassword

    password = sys.stdin.readline().rstrip("\n")
    try:
        with _app_connection() as conn:
            store.add_user(conn, name, role, password, actor=_actor())
    except (store.UserError, WeakPassword) as exc:
        _fail(str(exc))
    click.echo(f"added {name} ({role})")


@users.command("passwd")
@click.argument("name")
@click.option("--password-stdin", is_flag=True, required=True)
def users_passwd(name: str, password_stdin: bool) -> None:
    """Set a user's password (ends the user's sessions)."""
    from dashboard.auth import store
    from dashboard.auth.passwords import WeakPassword

    try:
        with _app_connection() as conn:
            store.set_password(conn, name, sys.stdin.readline().rstrip("\n"), actor=_actor())
    except (store.UserError, WeakPassword) as exc:
        _fail(str(exc))
    click.echo(f"password of {name} changed")


@users.command("disable")
@click.argument("name")
def users_disable(name: str) -> None:
    """Disable a user and end their sessions (wall devices included)."""
    from dashboard.auth import store

    try:
        with _app_connection() as conn:
            store.disable_user(conn, name, actor=_actor())
    except store.UserError as exc:
        _fail(str(exc))
    click.echo(f"disabled {name}")


@users.command("list")
def users_list() -> None:
    """List users and roles."""
    from dashboard.auth import store

    with _app_connection() as conn:
        for u in store.list_users(conn):
            state = "disabled" if u["disabled_at"] else "locked" if u["locked_until"] else "active"
            click.echo(f"{u['name']}\t{u['role']}\t{state}")


@users.command("revoke-sessions")
@click.argument("name")
def users_revoke(name: str) -> None:
    """End every session of a user (e.g. a lost wall screen)."""
    from dashboard.auth import store

    with _app_connection() as conn:
        n = store.revoke_sessions(conn, name, actor=_actor())
    click.echo(f"revoked {n} sessions of {name}")


@main.group()
def tokens() -> None:
    """API tokens of the agencies."""


@tokens.command("create")
@click.option("--agency", required=True, help="Agency code (see schemas/agencies.yaml).")
def tokens_create(agency: str) -> None:
    """Create a token for an agency; it is printed once, as the last word."""
    from dashboard.auth import store
    from dashboard.auth.secret import secret_key

    from ioc.ops.agencies import agency_codes

    if agency not in agency_codes():
        _fail(f"unknown agency {agency!r}; known: {', '.join(sorted(agency_codes()))}")
    with _app_connection() as conn:
        token = store.create_token(conn, secret_key(), agency, actor=_actor())
    click.echo(f"token for {agency} (shown once): {token}")


@tokens.command("revoke")
@click.option("--agency", required=True)
def tokens_revoke(agency: str) -> None:
    """Revoke every token of an agency."""
    from dashboard.auth import store

    with _app_connection() as conn:
        n = store.revoke_tokens(conn, agency, actor=_actor())
    click.echo(f"revoked {n} tokens of {agency}")


# -- feeds --------------------------------------------------------------------------------------
@main.group()
def feeds() -> None:
    """The feeds the center ingests."""


@feeds.command("list")
def feeds_list() -> None:
    """Name every feed, with its topics and cadence."""
    from ingest.feeds import all_feeds

    for feed in all_feeds().values():
        topics = " ".join(feed.topics) or "-"
        click.echo(f"{feed.name}\t{feed.format}\tcadence {int(feed.cadence.total_seconds())} s\t{topics}\t"
                   f"{feed.description}")


@feeds.command("parse")
@click.argument("feed_name", metavar="FEED")
@click.argument("file", type=click.Path(dir_okay=False, allow_dash=True))
def feeds_parse(feed_name: str, file: str) -> None:
    """Parse a recorded payload FILE as FEED; print the normalised records as JSON lines."""
    from ingest.feeds import FeedError, get

    try:
        feed = get(feed_name)
    except KeyError as exc:
        _fail(str(exc.args[0]))
    try:
        payload = sys.stdin.buffer.read() if file == "-" else open(file, "rb").read()
    except OSError as exc:
        _fail(f"cannot read {file}: {exc.strerror}")
    try:
        records = feed.parse(payload)
    except FeedError as exc:
        _fail(f"{feed_name}: {exc}")
    except RecursionError:
        _fail(f"{feed_name}: decode: payload nested too deeply")
    out = sys.stdout.buffer
    for record in records:
        out.write(orjson.dumps(record, option=orjson.OPT_NON_STR_KEYS) + b"\n")
    out.flush()


def _fail(message: str) -> None:
    click.echo(message.replace("\n", " "), err=True)
    sys.exit(2)


def _load_command_modules() -> None:
    import importlib
    import pkgutil

    from . import commands

    for info in pkgutil.iter_modules(commands.__path__):
        importlib.import_module(f"{commands.__name__}.{info.name}")


_load_command_modules()

if __name__ == "__main__":
    main()
