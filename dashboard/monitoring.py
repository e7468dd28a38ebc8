"""What the city's IT monitors: `/healthz` (public, statuses only) and `/metrics` (Prometheus text,
per feed, from the database), next to the ingest worker's own live counters
(IOC_INGEST_METRICS_PORT).

`/metrics` answers a Prometheus server presenting `Authorization: Bearer <IOC_METRICS_TOKEN>`,
or a signed-in admin (the gate, `route_roles`); nobody else. Figures per feed: messages received,
stored and rejected in the last 5 minutes and hour, how old its newest data is (lag), how long
since it last delivered anything, dead letters waiting for a replay; then the database, the
broker and the disks of the local services.
"""

from __future__ import annotations

import logging
import socket
import threading
import time

from flask import Response, make_response, request
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily

from ioc import settings
from ioc.jobs import disk

from .auth.tokens import same
from .runtime import database

log = logging.getLogger(__name__)

WINDOWS = {"5m": "5 minutes", "1h": "1 hour"}
FRESHNESS_WINDOW = "14 days"  # how far back /metrics looks for a feed's last sign of life
_cache: dict[str, tuple[float, object]] = {}
_cache_lock = threading.Lock()


def _cached(key: str, ttl: float, compute):
    """Health checks are asked for often (load balancers, several scrapers): compute at most
    once per `ttl` seconds."""
    now = time.monotonic()
    with _cache_lock:
        hit = _cache.get(key)
        if hit and now - hit[0] < ttl:
            return hit[1]
    value = compute()
    with _cache_lock:
        _cache[key] = (time.monotonic(), value)
    return value


# -- the parts ------------------------------------------------------------------------------------
def database_ok(timeout: float = 2.0) -> bool:
    """A short wait for a pooled connection: a monitor's request must not hang on a dead database."""
    try:
        with database().pool.connection(timeout=timeout) as conn:
            conn.execute("SELECT 1")
        return True
    except Exception:  # noqa: BLE001 - any failure means unavailable
        return False


def broker_state() -> str:
    """ok | unreachable | unknown (no broker configured here): a TCP connect, nothing more."""
    try:
        from ioc.mqtt import parse_url
        from ioc.services import endpoints

        address = parse_url(endpoints().mqtt_url)
    except (SystemExit, Exception):  # noqa: BLE001 - not configured in this process
        return "unknown"
    try:
        with socket.create_connection((address.host, address.port), timeout=0.5):
            return "ok"
    except OSError:
        return "unreachable"


def disks() -> list[disk.DiskUsage]:
    return disk.measure()


def health() -> tuple[dict, int]:
    def compute():
        db_ok = database_ok()
        broker = broker_state()
        disk_status = disk.worst(disks())
        if not db_ok or disk_status == "critical":
            status, code = "down", 503
        elif broker == "unreachable" or disk_status == "low":
            status, code = "degraded", 200
        else:
            status, code = "ok", 200
        return {"status": status, "database": "ok" if db_ok else "unavailable", "broker": broker,
                "disk": disk_status}, code

    return _cached("health", 2.0, compute)


# -- /metrics -------------------------------------------------------------------------------------
def feed_figures() -> dict:
    """Per-feed figures from feed_activity and dead_letter (time bounds are now()-relative, so
    TimescaleDB excludes old chunks)."""
    db = database()
    windows = {}
    for label, span in WINDOWS.items():
        windows[label] = db.rows(
            "SELECT feed, sum(received)::bigint AS received, sum(stored)::bigint AS stored, "
            "sum(rejected)::bigint AS rejected FROM feed_activity "
            f"WHERE time > now() - interval '{span}' GROUP BY feed")
    freshness = db.rows(
        "SELECT feed, extract(epoch FROM now() - max(time))::float AS silence_s, "
        "extract(epoch FROM now() - max(last_data_at))::float AS lag_s FROM feed_activity "
        f"WHERE time > now() - interval '{FRESHNESS_WINDOW}' GROUP BY feed")
    waiting = db.rows("SELECT coalesce(feed, '(unrouted)') AS feed, count(*)::bigint AS n FROM dead_letter "
                      "WHERE replayed_at IS NULL GROUP BY 1")
    checks = db.rows("SELECT name, status, extract(epoch FROM now() - checked_at)::float AS age_s "
                     "FROM health_check")
    size = db.one("SELECT pg_database_size(current_database())::bigint AS bytes")
    return {"windows": windows, "freshness": freshness, "waiting": waiting, "checks": checks,
            "size": size["bytes"] if size else None}


class _Collector:
    def collect(self):
        from ingest.feeds import all_feeds

        feeds = sorted(all_feeds())
        up = GaugeMetricFamily("ioc_database_up", "1 when the dashboard can query the database")
        figures = None
        if database_ok():
            try:
                figures = feed_figures()
            except Exception:  # noqa: BLE001 - report the database as down, and the rest
                log.warning("metrics: database unavailable", exc_info=True)
        up.add_metric([], 0 if figures is None else 1)
        yield up
        if figures is not None:
            for what in ("received", "stored", "rejected"):
                family = GaugeMetricFamily(f"ioc_feed_{what}", f"Messages {what} per feed in the window",
                                           labels=["feed", "window"])
                for window, rows in figures["windows"].items():
                    by_feed = {r["feed"]: r[what] for r in rows}
                    for feed in sorted(set(feeds) | set(by_feed)):
                        family.add_metric([feed, window], by_feed.get(feed) or 0)
                yield family
            lag = GaugeMetricFamily("ioc_feed_data_lag_seconds", "Age of the newest data a feed delivered",
                                    labels=["feed"])
            silence = GaugeMetricFamily("ioc_feed_silence_seconds", "Time since a feed last delivered anything "
                                        f"(feeds silent for over {FRESHNESS_WINDOW} are left out)", labels=["feed"])
            for r in figures["freshness"]:
                silence.add_metric([r["feed"]], r["silence_s"])
                if r["lag_s"] is not None:
                    lag.add_metric([r["feed"]], r["lag_s"])
            yield lag
            yield silence
            waiting = GaugeMetricFamily("ioc_dead_letters_waiting", "Dead letters not replayed (within retention)",
                                        labels=["feed"])
            for r in figures["waiting"]:
                waiting.add_metric([r["feed"]], r["n"])
            yield waiting
            checks = GaugeMetricFamily("ioc_health_check_ok", "1 when the periodic check's last result is ok",
                                       labels=["check", "status"])
            ages = GaugeMetricFamily("ioc_health_check_age_seconds", "Time since the check last ran", labels=["check"])
            for r in figures["checks"]:
                checks.add_metric([r["name"], r["status"]], 1 if r["status"] == "ok" else 0)
                ages.add_metric([r["name"]], r["age_s"])
            yield checks
            yield ages
            if figures["size"] is not None:
                yield GaugeMetricFamily("ioc_database_size_bytes", "Size of the database", value=figures["size"])
        broker = GaugeMetricFamily("ioc_broker_reachable", "1 when the broker accepts a TCP connection",
                                   labels=["state"])
        state = broker_state()
        broker.add_metric([state], 1 if state == "ok" else 0)
        yield broker
        free = GaugeMetricFamily("ioc_disk_free_bytes", "Free space of a local service's filesystem",
                                 labels=["filesystem", "path"])
        ratio = GaugeMetricFamily("ioc_disk_free_ratio", "Free fraction of that filesystem", labels=["filesystem"])
        level = GaugeMetricFamily("ioc_disk_ok", "1 when free space is above the IOC_DISK_* limits",
                                  labels=["filesystem", "status"])
        for u in disks():
            free.add_metric([u.label, u.path], u.free_bytes)
            ratio.add_metric([u.label], u.free_pct / 100)
            level.add_metric([u.label, u.status], 1 if u.status == "ok" else 0)
        yield free
        yield ratio
        yield level


def metrics_text() -> bytes:
    def compute():
        registry = CollectorRegistry(auto_describe=False)
        registry.register(_Collector())
        return generate_latest(registry)

    return _cached("metrics", 5.0, compute)


def metrics_response() -> Response:
    response = make_response(metrics_text())
    response.mimetype = "text/plain"
    response.headers["Content-Type"] = "text/plain; version=0.0.4; charset=utf-8"
    response.headers["Cache-Control"] = "no-store"
    return response


def bearer_gate():
    """Runs before the sign-in gate: a scraper with the right bearer token gets /metrics; a wrong
    token gets 401 (not the sign-in page); without one the request goes on to the gate."""
    if request.path != "/metrics":
        return None
    header = request.headers.get("Authorization", "")
    if not header.startswith("Bearer "):
        return None
    token = settings.get("IOC_METRICS_TOKEN")
    if token and same(header[len("Bearer "):].strip(), token):
        return metrics_response()
    log.warning("refused /metrics to %s: wrong or unset bearer token", request.remote_addr)
    response = make_response({"error": "not allowed"}, 401)
    response.headers["WWW-Authenticate"] = 'Bearer realm="ioc-metrics"'
    return response


def install(server) -> None:
    """The /metrics route (admins, or the bearer token checked before the gate)."""
    from . import access
    from .auth.web import route_roles

    if "metrics" in server.view_functions:
        return
    server.add_url_rule("/metrics", "metrics", metrics_response)
    server.before_request_funcs.setdefault(None, []).insert(0, bearer_gate)
    route_roles("metrics", {access.ADMIN})

