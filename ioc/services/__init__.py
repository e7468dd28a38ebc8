"""Project-local services (PostgreSQL + TimescaleDB, Mosquitto) and where to find them.

Every `ioc` subcommand that needs a database or a broker asks `endpoints()`: the `IOC_*` URLs
when they are set, else the local services that `ioc up` (`make demo`) started under IOC_HOME.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .. import settings
from .mosquitto import LocalMosquitto
from .postgres import OWNER, LocalPostgres
from .state import State


@dataclass(frozen=True)
class Endpoints:
    database_url: str  # the application's role
    database_owner_url: str  # owns the schema; runs migrations
    mqtt_url: str  # the ingest worker's account
    mqtt_publish_url: str  # the simulator's account
    local: bool


def local_postgres(home: Path | None = None) -> LocalPostgres:
    return LocalPostgres(home or settings.home(), port=settings.get_int("IOC_PG_PORT"),
                         pg_bin=settings.get("IOC_PG_BIN"), run_as=settings.get("IOC_PG_USER"))


def local_mosquitto(home: Path | None = None) -> LocalMosquitto:
    return LocalMosquitto(home or settings.home(), port=settings.get_int("IOC_MQTT_PORT"),
                          max_queued=settings.get_int("IOC_MQTT_MAX_QUEUED"),
                          autosave_s=settings.get_int("IOC_MQTT_AUTOSAVE_S"))


def uses_local_database() -> bool:
    return not settings.get("IOC_DATABASE_URL")


def uses_local_broker() -> bool:
    return not settings.get("IOC_MQTT_URL")


def endpoints(home: Path | None = None) -> Endpoints:
    """Where the database and the broker are, without starting anything."""
    home = home or settings.home()
    state = State.load(home)
    db_url = settings.get("IOC_DATABASE_URL")
    owner_url = settings.get("IOC_DATABASE_OWNER_URL") or db_url
    if not db_url:
        port = state.data.get("ports", {}).get("postgres")
        if port is None:
            raise SystemExit(f"no database: set IOC_DATABASE_URL, or start the local services "
                             f"(`make demo` or `ioc services start`; IOC_HOME={home})")
        pg = local_postgres(home)
        db_url, owner_url = pg.url(), pg.url(OWNER)
    mqtt_url = settings.get("IOC_MQTT_URL")
    publish_url = settings.get("IOC_MQTT_PUBLISH_URL") or mqtt_url
    if not mqtt_url:
        if state.data.get("ports", {}).get("mosquitto") is None:
            raise SystemExit(f"no broker: set IOC_MQTT_URL, or start the local services "
                             f"(`make demo` or `ioc services start`; IOC_HOME={home})")
        broker = local_mosquitto(home)
        mqtt_url = broker.url("ingest")
        publish_url = settings.get("IOC_MQTT_PUBLISH_URL") or broker.url("simulator")
    return Endpoints(db_url, owner_url, mqtt_url, publish_url, uses_local_database())


def start_local(home: Path | None = None) -> tuple[LocalPostgres | None, LocalMosquitto | None]:
    """Start whichever local services the settings do not replace with remote ones."""
    pg = broker = None
    if uses_local_database():
        pg = local_postgres(home)
        pg.start()
    if uses_local_broker():
        broker = local_mosquitto(home)
        broker.start()
    return pg, broker
