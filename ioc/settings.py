"""Every setting of the operations center, read from `IOC_*` environment variables.

This list is the single source: the README's settings table is checked against it by a test,
and nothing else in the code reads `os.environ["IOC_..."]` directly. Secrets are masked
whenever settings are printed or logged.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Setting:
    name: str
    default: str | None
    help: str
    secret: bool = False


SETTINGS: tuple[Setting, ...] = (
    Setting("IOC_HOME", None, "Folder for local services, their data, logs and generated secrets. "
            "Default: `.ioc` in the checkout (found by walking up from the current folder), else `./.ioc`."),
    Setting("IOC_ENV", "development", "`development` or `production`. Production refuses a missing or "
            "default secret key and never runs debug mode."),
    Setting("IOC_DATABASE_URL", None, "PostgreSQL/TimescaleDB URL (`postgresql://user:pass@host:port/db`). "
            "Unset: the local cluster under `IOC_HOME`.", secret=True),
    Setting("IOC_DATABASE_OWNER_URL", None, "URL of the role that owns the schema and runs migrations. "
            "Unset: `IOC_DATABASE_URL` (or the local cluster's owner role).", secret=True),
    Setting("IOC_MQTT_URL", None, "Broker URL for the ingest worker (`mqtt://user:pass@host:port`, "
            "`mqtts://` for TLS). Unset: the local Mosquitto under `IOC_HOME`.", secret=True),
    Setting("IOC_MQTT_PUBLISH_URL", None, "Broker URL the simulator publishes with. Unset: "
            "`IOC_MQTT_URL` when that is set, else the local broker's simulator account.", secret=True),
    Setting("IOC_MQTT_CA_FILE", None, "CA certificate for `mqtts://` brokers (system CAs when unset)."),
    Setting("IOC_PG_PORT", "0", "Port of the local PostgreSQL; 0 picks a free port once and keeps it."),
    Setting("IOC_MQTT_PORT", "0", "Port of the local Mosquitto; 0 picks a free port once and keeps it."),
    Setting("IOC_PG_BIN", "/usr/lib/postgresql/15/bin", "Where PostgreSQL 15's server programs are."),
    Setting("IOC_PG_USER", "postgres", "Unprivileged system user that runs the local PostgreSQL "
            "when `ioc` runs as root (PostgreSQL refuses to run as root)."),
    Setting("IOC_MQTT_MAX_QUEUED", "2000000", "Mosquitto `max_queued_messages` per client for the local "
            "broker: the backlog it holds for a worker that is behind or down (default 1000 drops messages)."),
    Setting("IOC_MQTT_AUTOSAVE_S", "2", "Mosquitto `autosave_interval` (seconds) for the local broker: "
            "a hard kill of the broker can lose messages accepted within this window."),
    Setting("IOC_DASHBOARD_HOST", "127.0.0.1", "Address the dashboard listens on."),
    Setting("IOC_DASHBOARD_PORT", "8050", "Port the dashboard listens on."),
    Setting("IOC_DASHBOARD_THREADS", "16", "Worker threads of the dashboard's HTTP server."),
    Setting("IOC_SECRET_KEY", None, "Key for session, CSRF and token hashes (at least 32 characters). "
            "Unset in development: generated once under `IOC_HOME`. Production refuses to start without it.",
            secret=True),
    Setting("IOC_COOKIE_SECURE", "0", "1: session cookies only over HTTPS (set it behind a TLS proxy)."),
    Setting("IOC_ALLOWED_ORIGINS", "", "Extra origins (comma-separated, `https://host`) allowed to send "
            "state-changing requests, e.g. the public name behind a reverse proxy."),
    Setting("IOC_AUTH_PROXY_HEADER", "", "Single sign-on: the header a trusted reverse proxy sets to the "
            "signed-in user's name (e.g. `X-Remote-User`). Empty: off."),
    Setting("IOC_AUTH_PROXY_FROM", "", "Addresses of the trusted proxies (comma-separated) whose "
            "`IOC_AUTH_PROXY_HEADER` is believed."),
    Setting("IOC_LANG", "zh-TW", "Default language of the dashboard: `zh-TW` or `en`."),
    Setting("IOC_REFRESH_MS", "1000", "How often the wall refreshes its live data, in milliseconds (a new level reaches every screen within about twice this)."),
    Setting("IOC_INGEST_CLIENT_ID", "ioc-ingest", "MQTT client id of the ingest worker (a persistent "
            "session: keep it fixed; a second worker needs its own)."),
    Setting("IOC_INGEST_SHARED_GROUP", "", "When set, subscribe through the MQTT shared subscription "
            "`$share/<group>/...` so several workers split one stream."),
    Setting("IOC_INGEST_BATCH", "5000", "Largest batch the ingest writer commits at once."),
    Setting("IOC_INGEST_FLUSH_MS", "25", "Longest time a received message waits before its batch is written."),
    Setting("IOC_INGEST_MAX_INFLIGHT", "20000", "Messages received but not yet committed (MQTT 5 "
            "Receive Maximum, at most 65535): the backpressure cap."),
    Setting("IOC_SIM_RATE", "5", "Simulator: detector readings per second (all detectors are covered "
            "in turn)."),
    Setting("IOC_SIM_SCENARIO", "normal", "Simulator scenario: `normal`, `typhoon` or `earthquake`."),
    Setting("IOC_CWA_API_KEY", None, "Central Weather Administration open-data key (授權碼) for the "
            "CWA pollers.", secret=True),
    Setting("IOC_INGEST_METRICS_PORT", "0", "Port on which the ingest worker serves Prometheus `/metrics` "
            "(received, stored, rejected, acked, redelivered, inbox, lag); 0: off."),
    Setting("IOC_INGEST_METRICS_HOST", "127.0.0.1", "Address the ingest worker's metrics listen on "
            "(`0.0.0.0` to let another host scrape them)."),
    Setting("IOC_METRICS_TOKEN", None, "Bearer token that lets a Prometheus server read the dashboard's "
            "`/metrics` (per-feed figures from the database); unset: only a signed-in admin may.", secret=True),
    Setting("IOC_RETENTION_DAYS", "400", "Days of readings kept (chunks of the feeds' reading tables, "
            "feed_activity and dead_letter older than this are dropped hourly); 0 keeps everything."),
    Setting("IOC_RETENTION_TABLES", "", "Per-table retention in days overriding `IOC_RETENTION_DAYS` "
            "(comma-separated `table=days`, e.g. `vd_reading=90,dead_letter=30`; 0 keeps that table); "
            "also how other hypertables (KPI, coverage) get one."),
    Setting("IOC_DISK_WARN_FREE_PCT", "10", "Disk check: a filesystem of the local services with less "
            "free space than this (percent) is reported `low` on /healthz, /metrics and the health page."),
    Setting("IOC_DISK_MIN_FREE_MB", "1024", "Disk check: less free space than this (MiB) is `critical` "
            "(/healthz answers 503)."),
    Setting("IOC_POLL_SOURCES", "auto", "HTTP pollers `ioc poll` runs (comma-separated names, see "
            "`ioc poll --list`). `auto`: every keyed source whose credentials are set (CWA, TDX); `all`: "
            "those and the key-less ones (`cap`, `sta`); `none`: no poller."),
    Setting("IOC_POLL_INTERVALS", "", "Poll intervals overriding the defaults, `name=seconds` comma-separated "
            "(e.g. `tdx-vdlive=120,cap=300`)."),
    Setting("IOC_POLL_CONNECT_TIMEOUT_S", "5", "HTTP pollers: seconds to connect to a server."),
    Setting("IOC_POLL_READ_TIMEOUT_S", "20", "HTTP pollers: seconds a server may stay silent while answering."),
    Setting("IOC_POLL_DEADLINE_S", "60", "HTTP pollers: total seconds one request may take, from connecting "
            "to the last byte (a server trickling its answer is abandoned here)."),
    Setting("IOC_POLL_RETRIES", "3", "HTTP pollers: retries of a request that timed out, was refused or "
            "answered 408/429/5xx (exponential backoff with jitter)."),
    Setting("IOC_POLL_BACKOFF_S", "2", "HTTP pollers: first backoff ceiling in seconds; doubles per retry, "
            "at most 60 s."),
    Setting("IOC_POLL_MAX_MIB", "16", "HTTP pollers: largest response body (MiB, after decompression; a "
            "feed's own limit may be lower). A larger body is aborted and dead-lettered."),
    Setting("IOC_POLL_OVERLAP_S", "1800", "HTTP pollers: a round re-requests from the newest stored data "
            "time (or the last success) minus this many seconds, so a restart misses nothing."),
    Setting("IOC_POLL_LOOKBACK_H", "24", "HTTP pollers: hours of data a poller with no saved state asks for "
            "(CAP index entries, SensorThings observations)."),
    Setting("IOC_POLL_METRICS_PORT", "0", "Port on which `ioc poll` serves Prometheus `/metrics` (on "
            "`IOC_INGEST_METRICS_HOST`); 0: off."),
    Setting("IOC_CWA_BASE_URL", "https://opendata.cwa.gov.tw", "CWA open-data server (datastore and file "
            "API) for the `cwa-*` pollers."),
    Setting("IOC_CAP_INDEX_URL", "https://alerts.ncdr.nat.gov.tw/RssAtomFeed.ashx", "Atom (or RSS) index of "
            "CAP alerts the `cap` poller reads (NCDR 民生示警公開資料平台)."),
    Setting("IOC_STA_BASE_URL", "https://sta.ci.taiwan.gov.tw/STA_WaterResource_v2/v1.0", "SensorThings "
            "service the `sta` poller reads (Civil IoT Taiwan, WRA water resources)."),
    Setting("IOC_STA_FILTER", "st_within(Thing/Locations/location, geography'POLYGON((120.45 23.99, "
            "121.46 23.99, 121.46 24.45, 120.45 24.45, 120.45 23.99))')", "SensorThings `$filter` on "
            "Datastreams for the `sta` poller (default: stations inside Taichung's bounding box); `none`: all."),
    Setting("IOC_TDX_CLIENT_ID", None, "TDX (運輸資料流通服務) OAuth client id for the `tdx-*` pollers."),
    Setting("IOC_TDX_CLIENT_SECRET", None, "TDX OAuth client secret.", secret=True),
    Setting("IOC_TDX_BASE_URL", "https://tdx.transportdata.tw/api/basic", "TDX API base for the `tdx-*` pollers."),
    Setting("IOC_TDX_TOKEN_URL", "https://tdx.transportdata.tw/auth/realms/TDXConnect/protocol/openid-connect/"
            "token", "TDX OAuth token endpoint (client credentials)."),
    Setting("IOC_TDX_CITY", "Taichung", "TDX city whose detectors and cameras are polled."),
    Setting("IOC_SMTP_HOST", "", "Mail server for escalation e-mails. Empty: no e-mail."),
    Setting("IOC_SMTP_PORT", "587", "Port of `IOC_SMTP_HOST`."),
    Setting("IOC_SMTP_TLS", "auto", "`auto` (STARTTLS when the server offers it), `starttls`, `ssl` or `none`."),
    Setting("IOC_SMTP_USER", "", "User name at the mail server (empty: no login)."),
    Setting("IOC_SMTP_PASSWORD", None, "Password at the mail server.", secret=True),
    Setting("IOC_SMTP_FROM", "ioc@localhost", "Sender address of escalation e-mails."),
    Setting("IOC_ESCALATION_CONTACTS", None, "YAML file of escalation e-mail recipients (`always`, and by "
            "agency code). Unset: `schemas/escalation_contacts.yaml` (empty: no recipients)."),
    Setting("IOC_ESCALATION_WEBHOOK_URL", None, "URL that receives each escalation as a JSON POST. Unset: "
            "no webhook.", secret=True),
    Setting("IOC_LOG_LEVEL", "INFO", "Log level of all `ioc` processes."),
)

_BY_NAME = {s.name: s for s in SETTINGS}


def get(name: str) -> str | None:
    """The value of a declared setting: the environment, else its default."""
    setting = _BY_NAME[name]  # KeyError for an undeclared name is a bug, not a user error
    value = os.environ.get(name)
    return setting.default if value in (None, "") else value


def get_int(name: str) -> int:
    value = get(name)
    try:
        return int(value)
    except (TypeError, ValueError):
        raise SystemExit(f"{name} must be an integer, got {value!r}") from None


def checkout_root(start: Path | None = None) -> Path | None:
    """The project checkout containing `start` (default: the current folder), if any."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        project = folder / "pyproject.toml"
        if project.is_file() and 'name = "taichung-ioc"' in project.read_text(errors="replace"):
            return folder
    return None


def home() -> Path:
    value = get("IOC_HOME")
    if value:
        return Path(value).resolve()
    root = checkout_root()
    return (root or Path.cwd()) / ".ioc"


def masked(name: str) -> str:
    value = get(name)
    if value is None:
        return "(unset)"
    return "***" if _BY_NAME[name].secret else value


def log_settings() -> None:
    for s in SETTINGS:
        log.info("setting %s=%s", s.name, masked(s.name))


def markdown_table() -> str:
    """The README's table of settings (a test keeps the README equal to this)."""
    rows = ["| Setting | Default | Meaning |", "|---|---|---|"]
    for s in SETTINGS:
        default = "—" if s.default in (None, "") else f"`{s.default}`"
        secret = " Secret: never logged." if s.secret else ""
        rows.append(f"| `{s.name}` | {default} | {s.help}{secret} |")
    return "\n".join(rows)
