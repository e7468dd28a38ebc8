"""What the feed layers share: which levels they are on at, their data time in the legend,
feed text made inert for Plotly, district names, map geometry (circles, off-map arrows), and
keeping the wall cheap (small-query settings, kept place lists, reused trace updates)."""

from __future__ import annotations

import functools
import html
import math
import re
import threading
import time
from datetime import datetime, timedelta
from functools import cache

from ..basemap import bounds, districts
from ..i18n import TAIPEI, t
from .base import ALL_LEVELS

ACTIVATION = frozenset({"level3", "level2", "level1"})
NORMAL = ALL_LEVELS  # on at every level, normal operations included
NEVER = frozenset()  # listed in the legend, off until an officer switches it on

# Taichung City Hall (臺中市政府, 西屯區): where distances to a typhoon or an epicentre are from.
CITY_HALL = (120.6469, 24.1617)
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")




def fetch(db, query: str, params: dict | None = None) -> list[dict]:
    """`db.rows`: the dashboard's pool already plans every query as the small query it is
    (no JIT, no parallel workers; see ioc.db.pool)."""
    return db.rows(query, params)


def kept_for(seconds: float, *, changed: str | None = None):
    """For a `(db, as_of)` query of places that change a few times a year (camera sites, the
    shelter list): the answer is kept `seconds` per database and shown at every `as_of`, so
    the wall does not read and convert the same thousand rows every refresh. With `changed`,
    a cheap query (say, count and newest time), a change it shows is read at once."""

    def wrap(query):
        kept: dict[int, tuple] = {}
        lock = threading.Lock()

        @functools.wraps(query)
        def run(db, as_of):
            version = db.tuples(changed) if changed else None
            hit = kept.get(id(db))
            if hit is not None and hit[0] is db and hit[1] > time.monotonic() and hit[3] == version:
                return hit[2]
            value = query(db, as_of)
            with lock:
                if len(kept) > 8:  # one database in service; tests make more
                    kept.clear()
                kept[id(db)] = (db, time.monotonic() + seconds, value, version)
            return value

        return run

    return wrap


def same_data_same_patch(patch):
    """Screens showing the same snapshot (or a kept answer) get the same trace updates without
    building them again: the last result per language is reused while the data is the same object."""
    last: dict[str, tuple] = {}

    @functools.wraps(patch)
    def run(data, lang):
        hit = last.get(lang)
        if hit is not None and hit[0] is data:
            return hit[1]
        updates = patch(data, lang)
        last[lang] = (data, updates)
        return updates

    return run


def inert(value, limit: int = 160) -> str:
    """Feed text as plain text for Plotly, which would otherwise render tags such as <a href>
    in hover text: escaped (Plotly shows entities as characters), control characters dropped,
    shortened to `limit` characters."""
    if value is None:
        return ""
    text = _CONTROL.sub("", str(value)).strip()
    text = " ".join(text.split())
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return html.escape(text, quote=False)


def freshness(times, as_of: datetime, cadence: timedelta | None) -> dict:
    """The data time of a layer (its newest row) and whether it is stale: older than its feed's
    cadence at `as_of`. Event-driven layers pass cadence None: silence is not staleness."""
    data_time = max((x for x in times if x is not None), default=None)
    stale = bool(cadence is not None and data_time is not None and as_of - data_time > cadence)
    return {"data_time": data_time, "stale": stale}


def clock(dt: datetime | None, as_of: datetime | None = None) -> str:
    """`10:40`, or `11/27 10:40` when the day differs from the moment shown."""
    if dt is None:
        return "—"
    local = dt.astimezone(TAIPEI)
    if as_of is not None and local.date() == as_of.astimezone(TAIPEI).date():
        return local.strftime("%H:%M")
    return f"{local.month}/{local.day} {local:%H:%M}"


def legend_name(title_key: str, data: dict, lang: str, empty_key: str = "layers.no_data") -> str:
    """A layer's legend entry: its name and data time; a stale layer is marked with ▲ and the
    word, so it reads without colour; no data says so (`empty_key`: what "nothing" means)."""
    title = t(title_key, lang)
    if data.get("data_time") is None:
        return f"{title} · {t(empty_key, lang)}"
    when = clock(data["data_time"], data.get("as_of"))
    if data.get("stale"):
        return f"▲ {title} · {when} {t('layers.stale', lang)}"
    return f"{title} · {when}"


@cache
def district_names(lang: str) -> dict[str, str]:
    if lang == "zh-TW":
        return {a.code: a.name for a in districts()}
    return {a.code: a.name_en.replace(" District", "") for a in districts()}


def district_name(code: str | None, lang: str) -> str:
    if not code:
        return "—"
    return district_names(lang).get(code, code)


@cache
def district_labels() -> dict[str, tuple[float, float]]:
    return {a.code: (a.label_lon, a.label_lat) for a in districts()}


def distance_km(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    """Great-circle distance (haversine, mean Earth radius)."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * 6371.0088 * math.asin(math.sqrt(a))


def bearing_deg(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    """Initial bearing from point 1 to point 2, degrees clockwise from north."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dl = math.radians(lon2 - lon1)
    y = math.sin(dl) * math.cos(p2)
    x = math.cos(p1) * math.sin(p2) - math.sin(p1) * math.cos(p2) * math.cos(dl)
    return (math.degrees(math.atan2(y, x)) + 360) % 360


def compass(bearing: float, lang: str) -> str:
    points = ("N", "NE", "E", "SE", "S", "SW", "W", "NW")
    return t(f"layers.compass.{points[round(bearing / 45) % 8]}", lang)


def circle(lon: float, lat: float, radius_km: float, points: int = 72) -> tuple[list, list]:
    """A circle on the map (small-distance approximation, closed ring)."""
    xs, ys = [], []
    for i in range(points + 1):
        a = 2 * math.pi * i / points
        ys.append(round(lat + radius_km / 111.32 * math.cos(a), 5))
        xs.append(round(lon + radius_km / (111.32 * math.cos(math.radians(lat))) * math.sin(a), 5))
    return xs, ys


def on_map(lon: float, lat: float) -> bool:
    x0, y0, x1, y1 = bounds()
    return x0 <= lon <= x1 and y0 <= lat <= y1


def edge_point(lon: float, lat: float, inset: float = 0.06) -> tuple[float, float, float]:
    """Where to put an arrow for something off the map: the point of the map's frame (inset a
    little) on the line from the map's centre towards it, and the arrow's angle (degrees
    clockwise from up, as Plotly's marker.angle)."""
    x0, y0, x1, y1 = bounds()
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    scale = math.cos(math.radians(cy))  # lon degrees are shorter: compare in true proportions
    dx, dy = (lon - cx) * scale, lat - cy
    hx, hy = ((x1 - x0) / 2 - inset) * scale, (y1 - y0) / 2 - inset
    k = min(hx / abs(dx) if dx else math.inf, hy / abs(dy) if dy else math.inf)
    angle = (math.degrees(math.atan2(dx, dy)) + 360) % 360
    return round(cx + dx * k / scale, 5), round(cy + dy * k, 5), round(angle, 1)


def edge_label_position(angle: float) -> str:
    """Plotly textposition for the label of an edge arrow pointing at `angle`: on the map's side,
    and below the arrow on the left and right edges (the legend fills the top-right corner)."""
    vertical = "top" if 120 < angle < 240 else "bottom"
    horizontal = "left" if 30 < angle < 150 else "right" if 210 < angle < 330 else "center"
    return f"{vertical} {horizontal}"


def ring_xy(rings) -> tuple[list, list]:
    """Many shapes as one trace's x/y, None between them."""
    xs: list = []
    ys: list = []
    for rx, ry in rings:
        xs.extend(rx)
        ys.extend(ry)
        xs.append(None)
        ys.append(None)
    return xs, ys
