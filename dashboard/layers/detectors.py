"""Vehicle detectors coloured by speed (TDX VDLive), at their sites (TDX VD)."""

from __future__ import annotations

import threading
import time
from datetime import datetime, timedelta, timezone

import plotly.graph_objects as go

from ..data import shared
from ..i18n import t
from ._common import kept_for
from ._style import BACKGROUND, LABEL, SPEED_SCALE
from .base import Layer

SPEED_MAX = 80
WINDOW = timedelta(minutes=10)


@kept_for(60, changed="SELECT count(*), max(time) FROM vd_site")
def detector_sites(db, as_of: datetime) -> dict[str, tuple]:
    """vd_id -> (lon, lat, name): sites change rarely; kept rather than joined per refresh, and
    read again as soon as a site is added or changed (a new detector shows at its first reading)."""
    return {r[0]: (r[1], r[2], r[3]) for r in db.tuples(
        "SELECT vd_id, lon, lat, name FROM vd_site WHERE lon IS NOT NULL AND lat IS NOT NULL")}


LATEST_SQL = """SELECT DISTINCT ON (vd_id COLLATE "C") vd_id, extract(epoch FROM time)::float8, speed_kmh,
                         volume, occupancy_pct
                    FROM vd_reading
                   WHERE time > %(since)s AND time <= %(as_of)s
                   ORDER BY vd_id COLLATE "C", time DESC"""
# What arrived since the last look: the time window bounds the scan (chunk exclusion), the
# arrival time picks the few new rows out of it. No sort, a handful of rows.
ARRIVED_SQL = """SELECT vd_id, extract(epoch FROM time)::float8, speed_kmh, volume, occupancy_pct
                   FROM vd_reading
                  WHERE time > %(since)s AND time <= %(as_of)s AND received_at > %(after)s"""
COMMIT_SLACK_S = 5.0  # a row is stamped when its transaction starts and seen when it commits
FULL_EVERY_S = 60.0


class LiveLatest:
    """The latest reading per detector for the live wall, kept up to date by reading only what
    arrived since the last refresh (a full read once a minute). Time travel reads in full."""

    def __init__(self):
        self.lock = threading.Lock()
        self.by_vd: dict[str, tuple] = {}
        self.synced_db_epoch = 0.0  # database clock at the last read
        self.full_at = 0.0

    def read(self, db, as_of: datetime) -> list[tuple]:
        with self.lock:
            db_now = db.tuples("SELECT extract(epoch FROM now())::float8")[0][0]
            params = {"since": as_of - WINDOW, "as_of": as_of}
            if time.monotonic() - self.full_at > FULL_EVERY_S or not self.synced_db_epoch:
                self.by_vd = {r[0]: r for r in db.tuples(LATEST_SQL, params)}
                self.full_at = time.monotonic()
            else:
                after = datetime.fromtimestamp(self.synced_db_epoch - COMMIT_SLACK_S, timezone.utc)
                for row in db.tuples(ARRIVED_SQL, {**params, "after": after}):
                    known = self.by_vd.get(row[0])
                    if known is None or row[1] >= known[1]:
                        self.by_vd[row[0]] = row
            self.synced_db_epoch = db_now
            oldest = (as_of - WINDOW).timestamp()
            return [r for r in self.by_vd.values() if oldest < r[1] <= as_of.timestamp()]


_live: dict[int, tuple] = {}


def _live_latest(db) -> LiveLatest:
    kept = _live.get(id(db))
    if kept is None or kept[0] is not db:
        kept = _live[id(db)] = (db, LiveLatest())
    return kept[1]


@shared
def latest_readings(db, as_of: datetime) -> dict[str, list]:
    """The latest reading of each detector within WINDOW before `as_of` with its site, as
    columns (`vd_id`, `epoch`, `speed`, `volume`, `lon`, `lat`, `name`): 2,000 dicts or
    datetimes a refresh would cost more than the query. Sorted in the C collation (bytes, not
    language rules: ids need no more); the live wall reads only what arrived since its last look."""
    live = abs((datetime.now(timezone.utc) - as_of).total_seconds()) < 5
    if live:
        rows = _live_latest(db).read(db, as_of)
    else:
        rows = db.tuples(LATEST_SQL, {"since": as_of - WINDOW, "as_of": as_of})
    sites = detector_sites(db, as_of)
    rows = sorted((r for r in rows if r[0] in sites), key=lambda r: r[0])  # a stable order: fewer changes to send
    placed = [sites[r[0]] for r in rows]
    return {"vd_id": [r[0] for r in rows], "epoch": [r[1] for r in rows], "speed": [r[2] for r in rows],
            "volume": [r[3] for r in rows], "lon": [p[0] for p in placed], "lat": [p[1] for p in placed],
            "name": [p[2] or r[0] for p, r in zip(placed, rows)]}


def _traces(lang: str) -> list:
    return [go.Scatter(
        x=[], y=[], mode="markers", name=t("layer.detectors", lang), legendgroup="detectors",
        marker=dict(size=9, color=[], colorscale=SPEED_SCALE, cmin=0, cmax=SPEED_MAX,
                    line=dict(color=BACKGROUND, width=0.8),
                    colorbar=dict(title=dict(text=t("legend.speed", lang), font=dict(color=LABEL)),
                                  tickfont=dict(color=LABEL), thickness=10, len=0.3, x=0.01, xanchor="left",
                                  y=0.02, yanchor="bottom")),  # no box: Plotly mis-sizes it under 4K zoom
        # The labels are in the template (per language, sent once); each refresh sends numbers.
        hovertemplate=(f"%{{text}}<br>{t('tile.mean_speed', lang)}: %{{customdata[0]:.0f}} km/h"
                       f"<br>{t('unit.volume', lang)}: %{{customdata[1]}}<extra></extra>"),
        text=[], customdata=[])]


def _patch(data: dict, lang: str) -> list[dict]:
    speeds = data["speed"]
    return [{
        "x": data["lon"],
        "y": data["lat"],
        "marker.color": [s if s is not None else 0 for s in speeds],
        "text": data["name"],
        "customdata": [[s, v] for s, v in zip(speeds, data["volume"])],
    }]


DETECTORS = Layer(id="detectors", title_key="layer.detectors", order=50, traces=_traces,
                  query=latest_readings, patch=_patch, feeds=("tdx-vdlive", "tdx-vd"),
                  redraw_every_s=5.0)  # the tiles count every reading at once; the dots follow
