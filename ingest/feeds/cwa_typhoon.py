"""CWA tropical cyclone tracks (`cwa-typhoon`): W-C0034-005 (颱風路徑 analysis + forecast).

The file API gives `cwaopendata.dataset.tropicalCyclones.tropicalCyclone[]` (an XML document as
JSON: numbers are strings, "@dir"/"#text" attributes, a single cyclone or fix may be a bare object).
One record per cyclone: names and numbers, every analysis and forecast fix (position, pressure,
winds, 15 m/s and 25 m/s wind radii with quadrants, motion, forecast hour), and the tracks as
GeoJSON lines for the map. No active cyclone is an empty list, not an error.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from . import _cwa
from ._common import check_range, iso, parse_time
from .base import Feed, FeedError, Table

DATASETS = ("W-C0034-005",)
dataset_url = _cwa.dataset_url
file_url = _cwa.file_url

# Where CWA tracks cyclones: the western North Pacific and the South China Sea (lon/lat).
NW_PACIFIC_BOX = (90.0, -5.0, 180.0, 60.0)
_COMPASS = ("N", "NNE", "NE", "ENE", "E", "ESE", "SE", "SSE", "S", "SSW", "SW", "WSW", "W", "WNW", "NW", "NNW")
COMPASS_DEG = {name: i * 22.5 for i, name in enumerate(_COMPASS)}
_QUADRANTS = ("NE", "SE", "SW", "NW")


def _num(node: dict, key: str, *, field: str) -> float | None:
    raw = node.get(key)
    if raw is None or raw == "":
        return None
    return _cwa.to_number(raw, field=f"{field}.{key}")


def _by_lang(value, *, field: str) -> dict | None:
    """[{"@lang": "zh-hant", "#text": ...}, ...] -> {"zh-hant": ..., "en-us": ...}."""
    if value is None or value == "":
        return None
    if isinstance(value, str):
        return {"zh-hant": value[:300]}
    out = {}
    for i, item in enumerate(_cwa.as_list(value, field=field)):
        item = _cwa.obj(item, field=f"{field}[{i}]")
        lang = _cwa.text(item.get("@lang"), field=f"{field}[{i}].@lang") or "zh-hant"
        out[lang] = _cwa.text(item.get("#text"), field=f"{field}[{i}].#text", limit=300)
    return out or None


def _wind_circle(value, *, field: str) -> tuple[float | None, dict | None]:
    """(radius km, {NE/SE/SW/NW: km} or None) of a `circle_of_15ms` / `circle_of_25ms`."""
    node = _cwa.opt_obj(value, field=field)
    radius = _num(node, "radius", field=field)
    if radius is not None and not 0 <= radius <= 3000:
        raise FeedError("validate", f"{field}.radius {radius} km is not a wind radius")
    quadrants = None
    radii = _cwa.opt_obj(node.get("quadrant_radii"), field=f"{field}.quadrant_radii")
    if radii:
        quadrants = {}
        for i, item in enumerate(_cwa.as_list(radii.get("radius"), field=f"{field}.quadrant_radii.radius")):
            where = f"{field}.quadrant_radii.radius[{i}]"
            item = _cwa.obj(item, field=where)
            direction = str(item.get("@dir", "")).upper()
            if direction not in _QUADRANTS:
                raise FeedError("validate", f"{where}.@dir: not a quadrant: {direction[:10]!r}")
            quadrants[direction] = _cwa.to_number(item.get("#text"), field=f"{where}.#text")
        quadrants = quadrants or None
    return radius, quadrants


def _fix(item, kind: str, *, field: str) -> dict:
    node = _cwa.obj(item, field=field)
    coordinate = node.get("coordinate")
    if not isinstance(coordinate, str) or coordinate.count(",") != 1:
        raise FeedError("validate", f"{field}.coordinate: expected 'lon,lat'")
    lon_s, lat_s = coordinate.split(",")
    lon, lat = _cwa.lonlat(_cwa.to_number(lon_s, field=f"{field}.coordinate lon"),
                           _cwa.to_number(lat_s, field=f"{field}.coordinate lat"), field=f"{field}.coordinate")
    if kind == "analysis":
        base = parse_time(node.get("fix_time"), field=f"{field}.fix_time")
        tau = 0
    else:
        base = parse_time(node.get("init_time"), field=f"{field}.init_time")
        tau_raw = _cwa.to_number(node.get("tau"), field=f"{field}.tau")
        if tau_raw != int(tau_raw) or not 0 <= tau_raw <= 240:
            raise FeedError("validate", f"{field}.tau: {tau_raw} is not a forecast hour (0-240)")
        tau = int(tau_raw)
    try:
        valid = base + timedelta(hours=tau)
    except OverflowError:
        raise FeedError("validate", f"{field}: forecast time past the year 9999") from None
    direction = _cwa.text(node.get("moving_direction"), field=f"{field}.moving_direction", limit=8)
    r15, q15 = _wind_circle(node.get("circle_of_15ms"), field=f"{field}.circle_of_15ms")
    r25, q25 = _wind_circle(node.get("circle_of_25ms"), field=f"{field}.circle_of_25ms")
    return {
        "kind": kind,
        "time": iso(valid),
        "base_time": iso(base),
        "tau_h": tau,
        "lon": lon,
        "lat": lat,
        "pressure_hpa": _num(node, "pressure", field=field),
        "max_wind_ms": _num(node, "max_wind_speed", field=field),
        "max_gust_ms": _num(node, "max_gust_speed", field=field),
        "moving_speed_kmh": _num(node, "moving_speed", field=field),
        "moving_direction": direction,
        "moving_dir_deg": COMPASS_DEG.get(direction.upper()) if direction else None,
        "radius_15ms_km": r15,
        "radius_15ms_quadrants_km": q15,
        "radius_25ms_km": r25,
        "radius_25ms_quadrants_km": q25,
        "radius_70pct_km": _num(node, "radius_of_70percent_probability", field=field),
        "moving_prediction": _by_lang(node.get("moving_prediction"), field=f"{field}.moving_prediction"),
        "state_transfer": _by_lang(node.get("state_transfer"), field=f"{field}.state_transfer"),
    }


def _line(points: list[list[float]]):
    return {"type": "LineString", "coordinates": points} if len(points) >= 2 else None


def _cyclone(item, index: int, sent: datetime | None) -> dict:
    field = f"tropicalCyclone[{index}]"
    tc = _cwa.obj(item, field=field)
    year_raw = _cwa.to_number(tc.get("year"), field=f"{field}.year")
    if year_raw != int(year_raw) or not 1900 <= year_raw <= 2200:
        raise FeedError("validate", f"{field}.year: {year_raw} is not a year")
    year = int(year_raw)
    numbers = {}
    for key in ("cwa_td_no", "cwa_ty_no"):
        raw = tc.get(key)
        if raw not in (None, ""):
            value = _cwa.to_number(raw, field=f"{field}.{key}")
            if value != int(value) or not 0 < value < 1000:
                raise FeedError("validate", f"{field}.{key}: {value} is not a cyclone number")
            numbers[key] = int(value)
    name_en = _cwa.text(tc.get("typhoon_name"), field=f"{field}.typhoon_name", limit=60)
    if "cwa_td_no" in numbers:
        cyclone_id = f"{year}-TD{numbers['cwa_td_no']:02d}"
    elif name_en:
        cyclone_id = f"{year}-{name_en.upper()}"
    else:
        raise FeedError("validate", f"{field}: neither cwa_td_no nor typhoon_name identifies the cyclone")
    fixes = []
    for kind, key in (("analysis", "analysis_data"), ("forecast", "forecast_data")):
        block = _cwa.opt_obj(tc.get(key), field=f"{field}.{key}")
        for i, fix in enumerate(_cwa.as_list(block.get("fix"), field=f"{field}.{key}.fix")):
            fixes.append(_fix(fix, kind, field=f"{field}.{key}.fix[{i}]"))
    if not fixes:
        raise FeedError("validate", f"{field}: no analysis or forecast fixes")
    fixes.sort(key=lambda f: (f["kind"] != "analysis", datetime.fromisoformat(f["time"])))
    analysis = [f for f in fixes if f["kind"] == "analysis"]
    forecast = [f for f in fixes if f["kind"] == "forecast"]
    latest = analysis[-1] if analysis else forecast[0]
    issued = sent or max(datetime.fromisoformat(f["base_time"]) for f in fixes)
    forecast_points = ([[latest["lon"], latest["lat"]]] if analysis else []) + [[f["lon"], f["lat"]] for f in forecast]
    return {
        "cyclone_id": cyclone_id,
        "year": year,
        "td_no": numbers.get("cwa_td_no"),
        "ty_no": numbers.get("cwa_ty_no"),
        "name_en": name_en,
        "name_zh": _cwa.text(tc.get("cwa_typhoon_name"), field=f"{field}.cwa_typhoon_name", limit=60),
        "issued": iso(issued),
        "latest_fix_time": latest["time"],
        "position": {"type": "Point", "coordinates": [latest["lon"], latest["lat"]]},
        "pressure_hpa": latest["pressure_hpa"],
        "max_wind_ms": latest["max_wind_ms"],
        "radius_15ms_km": latest["radius_15ms_km"],
        "track": _line([[f["lon"], f["lat"]] for f in analysis]),
        "forecast_track": _line(forecast_points),
        "fixes": fixes,
    }


def parse_typhoon(payload: bytes) -> list[dict]:
    doc = _cwa.load(payload)
    sent = None
    if isinstance(doc, dict) and ("cwaopendata" in doc or "records" in doc):
        root_key = "cwaopendata" if "cwaopendata" in doc else "records"
        root = _cwa.obj(doc[root_key], field=root_key)
        if root_key == "cwaopendata":
            if root.get("sent") not in (None, ""):
                sent = parse_time(root["sent"], field="cwaopendata.sent")
            holder = _cwa.opt_obj(root.get("dataset"), field="cwaopendata.dataset")
            where = "cwaopendata.dataset"
        else:
            holder, where = root, "records"
        if not holder:
            return []  # an empty dataset: no cyclone is being tracked
        if "tropicalCyclones" not in holder:
            raise FeedError("validate", f"{where}.tropicalCyclones missing: not a W-C0034-005 typhoon file")
        cyclones = _cwa.opt_obj(holder["tropicalCyclones"], field=f"{where}.tropicalCyclones")
        items = _cwa.as_list(cyclones.get("tropicalCyclone"), field=f"{where}.tropicalCyclones.tropicalCyclone")
    elif isinstance(doc, dict) and ("analysis_data" in doc or "forecast_data" in doc):
        items = [doc]
    elif isinstance(doc, list):
        items = doc
    else:
        raise FeedError("validate", "not a CWA typhoon file: no cwaopendata.dataset.tropicalCyclones")
    return [_cyclone(item, i, sent) for i, item in enumerate(items)]


def check_typhoon(rec: dict) -> None:
    issued = datetime.fromisoformat(rec["issued"])
    _cwa.check_time_window(issued, max_age=timedelta(days=14), field=f"typhoon {rec['cyclone_id']} issued")
    if len(rec["fixes"]) > 1000:
        raise FeedError("validate", f"typhoon {rec['cyclone_id']}: more than 1000 fixes")
    for f in rec["fixes"]:
        where = f"typhoon {rec['cyclone_id']} {f['kind']} fix {f['time']}"
        _cwa.check_box(f["lon"], f["lat"], NW_PACIFIC_BOX, field=where, where="the western North Pacific")
        when = datetime.fromisoformat(f["time"])
        if f["kind"] == "analysis" and when > issued + timedelta(minutes=10):
            raise FeedError("validate", f"{where}: analysis after the issue time {rec['issued']}")
        if when > issued + timedelta(days=8):
            raise FeedError("validate", f"{where}: more than 8 days after the issue time")
        check_range(f["pressure_hpa"], 850, 1030, field=f"{where} pressure_hpa")
        check_range(f["max_wind_ms"], 0, 100, field=f"{where} max_wind_ms")
        check_range(f["max_gust_ms"], 0, 130, field=f"{where} max_gust_ms")
        check_range(f["moving_speed_kmh"], 0, 200, field=f"{where} moving_speed_kmh")


def typhoon_rows(rec: dict, received_at: datetime):
    issued = datetime.fromisoformat(rec["issued"])
    for f in rec["fixes"]:
        yield "cwa_typhoon_fix", (
            rec["cyclone_id"], f["kind"], datetime.fromisoformat(f["time"]), datetime.fromisoformat(f["base_time"]),
            f["tau_h"], f["lon"], f["lat"], f["pressure_hpa"], f["max_wind_ms"], f["max_gust_ms"],
            f["moving_speed_kmh"], f["moving_dir_deg"], f["radius_15ms_km"], f["radius_15ms_quadrants_km"],
            f["radius_25ms_km"], f["radius_25ms_quadrants_km"], f["radius_70pct_km"], issued)
    lon, lat = rec["position"]["coordinates"]
    yield "cwa_typhoon", (rec["cyclone_id"], rec["year"], rec["td_no"], rec["ty_no"], rec["name_en"], rec["name_zh"],
                          datetime.fromisoformat(rec["latest_fix_time"]), lon, lat, rec["pressure_hpa"],
                          rec["max_wind_ms"], rec["radius_15ms_km"], rec["track"], rec["forecast_track"], issued)


TYPHOON_FIX = Table("cwa_typhoon_fix", (
    "cyclone_id", "kind", "time", "base_time", "tau_h", "lon", "lat", "pressure_hpa", "max_wind_ms", "max_gust_ms",
    "moving_speed_kmh", "moving_dir_deg", "radius_15ms_km", "radius_15ms_quadrants_km", "radius_25ms_km",
    "radius_25ms_quadrants_km", "radius_70pct_km", "issued"),
    key=("cyclone_id", "time", "kind", "tau_h"), mode="latest", time_column="issued")
TYPHOON = Table("cwa_typhoon", (
    "cyclone_id", "year", "td_no", "ty_no", "name_en", "name_zh", "latest_fix_time", "lon", "lat", "pressure_hpa",
    "max_wind_ms", "radius_15ms_km", "track", "forecast_track", "issued"),
    key=("cyclone_id",), mode="latest", time_column="issued")

TYPHOONS = Feed(
    name="cwa-typhoon",
    description="CWA tropical cyclone tracks (W-C0034-005): analysis and forecast fixes, wind radii "
                "/ 中央氣象署颱風路徑與預報",
    format="json",
    parse=parse_typhoon,
    check=check_typhoon,
    to_rows=typhoon_rows,
    # CWA issues tracks every 6 h (every 3 h with a typhoon warning in force): 3 h is the tighter rhythm.
    cadence=timedelta(hours=3),
    topics=("ioc/v1/disaster/typhoon",),
    tables=(TYPHOON_FIX, TYPHOON),
    schema="cwa-typhoon.schema.json",
    max_bytes=4 << 20,  # three cyclones with a week of fixes: ~120 kB
    # The recorded track file is the file API's `cwaopendata` document: fetch with `file_url`.
    extra={"cwa_datasets": DATASETS, "cwa_api": "file"},
    event_driven=True,
    empty_ok=True,
)
