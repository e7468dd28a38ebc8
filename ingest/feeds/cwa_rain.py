"""CWA rain gauges (`cwa-rain`): O-A0002-001 (自動雨量站-雨量觀測資料).

Two real shapes, normalised alike:
* current (2023-): `records.Station[]` (or `cwaopendata.dataset.Station`) with
  `RainfallElement: {Now|Past10Min|Past1hr|Past3hr|Past6hr|Past12hr|Past24hr|Past2days|Past3days:
  {Precipitation: x}}` (CWA itself spells Past6hr/Past6Hr both ways: keys match without case);
* legacy CWB files: `cwbopendata.location[]` with `weatherElement[{elementName, elementValue.value}]`
  (RAIN = past hour, MIN_10, HOUR_3, HOUR_6, HOUR_12, HOUR_24, NOW, latest_2days, latest_3days,
  ELEV), strings such as "-998.00", TWD67 `lat`/`lon`.
Each station gets CWA's rain alert level (大雨/豪雨/大豪雨/超大豪雨) from `schemas/rain_alert_levels.yaml`.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import cache
from pathlib import Path

import yaml

from . import _cwa
from ._common import TAIWAN_BBOX, check_range, iso, parse_time
from .base import Feed, FeedError, Table

DATASETS = ("O-A0002-001",)
dataset_url = _cwa.dataset_url
LEVELS_FILE = Path(__file__).resolve().parents[2] / "schemas" / "rain_alert_levels.yaml"

# Normalised windows (mm) in record order, with their upper bound for live plausibility.
WINDOWS = {
    "now_mm": 3000, "past_10min_mm": 200, "past_1h_mm": 400, "past_3h_mm": 1000, "past_6h_mm": 1500,
    "past_12h_mm": 2500, "past_24h_mm": 3000, "past_2d_mm": 4000, "past_3d_mm": 5000,
}
# `Now` is the amount since local midnight (本日累積雨量), not the last few minutes.
_CURRENT_KEYS = {
    "now": "now_mm", "past10min": "past_10min_mm", "past1hr": "past_1h_mm", "past3hr": "past_3h_mm",
    "past6hr": "past_6h_mm", "past12hr": "past_12h_mm", "past24hr": "past_24h_mm",
    "past2days": "past_2d_mm", "past3days": "past_3d_mm",
}
_LEGACY_KEYS = {
    "now": "now_mm", "min_10": "past_10min_mm", "rain": "past_1h_mm", "hour_3": "past_3h_mm",
    "hour_6": "past_6h_mm", "hour_12": "past_12h_mm", "hour_24": "past_24h_mm",
    "latest_2days": "past_2d_mm", "latest_3days": "past_3d_mm",
}


# --- alert levels (data, not code) ------------------------------------------------------------

def _valid_levels(levels, *, where: str) -> list[dict]:
    if not isinstance(levels, list):
        raise ValueError(f"{where}: levels must be a list")
    out = []
    for i, level in enumerate(levels):
        if not isinstance(level, dict) or not {"id", "rank", "zh", "en", "any_of"} <= level.keys():
            raise ValueError(f"{where}[{i}]: needs id, rank, zh, en and any_of")
        thresholds = level["any_of"]
        if not isinstance(thresholds, dict) or not thresholds or not all(
                isinstance(v, (int, float)) and not isinstance(v, bool) and v >= 0 for v in thresholds.values()):
            raise ValueError(f"{where}[{i}].any_of: a non-empty map of window -> threshold >= 0")
        out.append(level)
    ranks = [lv["rank"] for lv in out]
    if any(not isinstance(r, int) or r < 1 for r in ranks) or len(set(ranks)) != len(ranks):
        raise ValueError(f"{where}: ranks must be distinct integers >= 1")
    return sorted(out, key=lambda lv: lv["rank"], reverse=True)


@cache
def alert_config(path: Path = LEVELS_FILE) -> dict:
    """The warning-level file, validated: {"rain": [levels, highest first], "water_level": [stations]}."""
    with open(path, encoding="utf-8") as fh:
        data = yaml.safe_load(fh)
    rain = _valid_levels(data["rain"]["levels"], where="rain.levels")
    unknown = {w for lv in rain for w in lv["any_of"]} - set(WINDOWS)
    if unknown:
        raise ValueError(f"rain.levels name unknown windows: {sorted(unknown)}")
    stations = data["water_level"]["stations"] or []
    for i, station in enumerate(stations):
        if not isinstance(station, dict) or not isinstance(station.get("station_id"), str):
            raise ValueError(f"water_level.stations[{i}]: station_id missing")
        station["levels"] = _valid_levels(station.get("levels"), where=f"water_level.stations[{i}].levels")
    return {"rain": rain, "water_level": stations}


def water_level_warnings() -> list[dict]:
    """Per-station water-level warning levels, same level shape as rain (for the water-level feed)."""
    return alert_config()["water_level"]


def rain_alert(values: dict) -> dict:
    """CWA's rain level reached by a station's windows: the highest level any threshold reaches;
    rank 0 ("none") when none is reached, null when none of the windows it needs is known."""
    levels = alert_config()["rain"]
    for level in levels:
        if any(values.get(w) is not None and values[w] >= t for w, t in level["any_of"].items()):
            return {"alert_level": level["id"], "alert_rank": level["rank"], "alert_zh": level["zh"],
                    "alert_en": level["en"]}
    needed = {w for level in levels for w in level["any_of"]}
    if any(values.get(w) is not None for w in needed):
        return {"alert_level": "none", "alert_rank": 0, "alert_zh": None, "alert_en": None}
    return {"alert_level": None, "alert_rank": None, "alert_zh": None, "alert_en": None}


# --- parsing -----------------------------------------------------------------------------------

def _amounts(pairs) -> tuple[dict, dict]:
    """(window -> mm, window -> flag) from (raw key, raw value, path) triples."""
    values = dict.fromkeys(WINDOWS)
    flags = {}
    for window, raw, where in pairs:
        value, flag = _cwa.clean_value(raw, "precipitation", field=where)
        values[window] = value
        if flag:
            flags[window] = flag
    return values, flags


def _record(*, station_id, name, when, lon, lat, altitude, county, town, maintainer, shape, values, flags) -> dict:
    return {
        "station_id": station_id, "name": name, "time": iso(when), "lon": lon, "lat": lat,
        "geometry": None if lon is None else {"type": "Point", "coordinates": [lon, lat]},
        "altitude_m": altitude, "county": county, "town": town,
        "district_code": _cwa.taichung_district(county, town, lon, lat),
        "maintainer": maintainer, "source_shape": shape,
        **values, "flags": flags, **rain_alert(values),
    }


def _current_station(item, index: int) -> dict:
    field = f"Station[{index}]"
    station = _cwa.obj(item, field=field)
    geo = _cwa.opt_obj(station.get("GeoInfo"), field=f"{field}.GeoInfo")
    lon, lat = _cwa.wgs84_position(geo, field=f"{field}.GeoInfo")
    altitude = None
    if geo.get("StationAltitude") not in (None, ""):
        altitude, _ = _cwa.clean_value(geo["StationAltitude"], "elevation", field=f"{field}.GeoInfo.StationAltitude")
    element = _cwa.opt_obj(station.get("RainfallElement"), field=f"{field}.RainfallElement")
    pairs = []
    for key, raw in element.items():
        window = _CURRENT_KEYS.get(str(key).lower())
        if window is None:
            continue  # an element we do not use
        where = f"{field}.RainfallElement.{key}"
        if isinstance(raw, dict):
            if "Precipitation" not in raw:
                raise FeedError("validate", f"{where}.Precipitation missing")
            raw, where = raw["Precipitation"], f"{where}.Precipitation"
        pairs.append((window, raw, where))
    values, flags = _amounts(pairs)
    obs = _cwa.opt_obj(station.get("ObsTime"), field=f"{field}.ObsTime")
    return _record(
        station_id=_cwa.text(station.get("StationId"), field=f"{field}.StationId", required=True, limit=40),
        name=_cwa.text(station.get("StationName"), field=f"{field}.StationName", limit=80),
        when=parse_time(obs.get("DateTime"), field=f"{field}.ObsTime.DateTime"),
        lon=lon, lat=lat, altitude=altitude,
        county=_cwa.text(geo.get("CountyName"), field=f"{field}.GeoInfo.CountyName"),
        town=_cwa.text(geo.get("TownName"), field=f"{field}.GeoInfo.TownName"),
        maintainer=_cwa.text(station.get("Maintainer"), field=f"{field}.Maintainer"),
        shape="current", values=values, flags=flags)


def _legacy_location(item, index: int) -> dict:
    field = f"location[{index}]"
    loc = _cwa.obj(item, field=field)
    params = {}
    for i, p in enumerate(_cwa.as_list(loc.get("parameter"), field=f"{field}.parameter")):
        p = _cwa.obj(p, field=f"{field}.parameter[{i}]")
        params[str(p.get("parameterName", "")).upper()] = p.get("parameterValue")
    pairs, altitude = [], None
    for i, el in enumerate(_cwa.as_list(loc.get("weatherElement"), field=f"{field}.weatherElement")):
        where = f"{field}.weatherElement[{i}]"
        el = _cwa.obj(el, field=where)
        name = str(el.get("elementName", "")).lower()
        raw = el.get("elementValue")
        if isinstance(raw, dict):
            raw = raw.get("value")
        if name == "elev":
            altitude, _ = _cwa.clean_value(raw, "elevation", field=f"{where}.elementValue")
        elif name in _LEGACY_KEYS:
            pairs.append((_LEGACY_KEYS[name], raw, f"{where}.elementValue"))
    values, flags = _amounts(pairs)
    lon = lat = None
    if loc.get("lon") not in (None, "") and loc.get("lat") not in (None, ""):
        # Legacy CWB files give TWD67 coordinates (467490 臺中: 120.6759, 24.1475 = CWA's TWD67 pair).
        lon, lat = _cwa.lonlat(_cwa.to_number(loc["lon"], field=f"{field}.lon"),
                               _cwa.to_number(loc["lat"], field=f"{field}.lat"), field=field)
        lon, lat = _cwa.twd67_to_wgs84(lon, lat)
    when_node = _cwa.opt_obj(loc.get("time"), field=f"{field}.time")
    return _record(
        station_id=_cwa.text(loc.get("stationId"), field=f"{field}.stationId", required=True, limit=40),
        name=_cwa.text(loc.get("locationName"), field=f"{field}.locationName", limit=80),
        when=parse_time(when_node.get("obsTime"), field=f"{field}.time.obsTime"),
        lon=lon, lat=lat, altitude=altitude,
        county=_cwa.text(params.get("CITY"), field=f"{field}.parameter.CITY"),
        town=_cwa.text(params.get("TOWN"), field=f"{field}.parameter.TOWN"),
        maintainer=_cwa.text(params.get("ATTRIBUTE"), field=f"{field}.parameter.ATTRIBUTE"),
        shape="legacy", values=values, flags=flags)


def parse_rain(payload: bytes) -> list[dict]:
    doc = _cwa.load(payload)
    legacy_root = None
    if isinstance(doc, dict):
        legacy_root = doc.get("cwbopendata")
        if legacy_root is None and isinstance(doc.get("cwaopendata"), dict) and "location" in doc["cwaopendata"]:
            legacy_root = doc["cwaopendata"]
    if legacy_root is not None:
        root = _cwa.obj(legacy_root, field="cwbopendata")
        if "location" not in root:
            raise FeedError("validate", "cwbopendata.location missing: not a legacy rain file")
        items = _cwa.as_list(root["location"], field="cwbopendata.location")
        return [_legacy_location(item, i) for i, item in enumerate(items)]
    if isinstance(doc, dict) and "weatherElement" in doc and "stationId" in doc:
        return [_legacy_location(doc, 0)]
    items, _dataset = _cwa.envelope_items(doc, list_key="Station", dataset_keys=("StationId",))
    records = []
    for i, item in enumerate(items):
        if isinstance(item, dict) and "weatherElement" in item and "RainfallElement" not in item:
            records.append(_legacy_location(item, i))
        else:
            records.append(_current_station(item, i))
    return records


# --- live checks and rows ---------------------------------------------------------------------

def check_rain(rec: dict) -> None:
    sid = rec["station_id"]
    if not 0 < len(sid) <= 20:
        raise FeedError("validate", "station_id must be 1-20 characters")
    _cwa.check_box(rec["lon"], rec["lat"], TAIWAN_BBOX, field=f"rain station {sid}", where="Taiwan")
    _cwa.check_time_window(datetime.fromisoformat(rec["time"]), max_age=timedelta(days=14),
                           field=f"rain station {sid} ObsTime")
    for window, hi in WINDOWS.items():
        check_range(rec[window], 0, hi, field=f"rain station {sid} {window}")


def rain_rows(rec: dict, received_at: datetime):
    when = datetime.fromisoformat(rec["time"])
    amounts = [rec[w] for w in WINDOWS]
    yield "cwa_rain_reading", (when, rec["station_id"], *amounts, rec["alert_level"], rec["flags"])
    yield "cwa_rain_station", (rec["station_id"], rec["name"], rec["lon"], rec["lat"], rec["altitude_m"],
                               rec["county"], rec["town"], rec["district_code"], rec["maintainer"],
                               rec["now_mm"], rec["past_1h_mm"], rec["past_3h_mm"], rec["past_24h_mm"],
                               rec["alert_level"], rec["alert_rank"], rec["flags"], when)


RAIN_READING = Table("cwa_rain_reading", ("time", "station_id", *WINDOWS, "alert_level", "flags"),
                     key=("station_id", "time"))
RAIN_STATION = Table("cwa_rain_station", ("station_id", "name", "lon", "lat", "altitude_m", "county", "town",
                                          "district_code", "maintainer", "now_mm", "past_1h_mm", "past_3h_mm",
                                          "past_24h_mm", "alert_level", "alert_rank", "flags", "time"),
                     key=("station_id",), mode="latest")

RAIN = Feed(
    name="cwa-rain",
    description="CWA rain gauges (O-A0002-001): 10 min to 3 day rainfall and CWA rain alert level "
                "/ 中央氣象署自動雨量站雨量與豪雨分級",
    format="json",
    parse=parse_rain,
    check=check_rain,
    to_rows=rain_rows,
    cadence=timedelta(minutes=10),
    topics=("ioc/v1/weather/rain",),
    tables=(RAIN_READING, RAIN_STATION),
    schema="cwa-rain.schema.json",
    max_bytes=8 << 20,  # ~1,300 gauges; a legacy whole-country file was 2 MB
    extra={"cwa_datasets": DATASETS, "cwa_api": "datastore", "alert_levels_file": "schemas/rain_alert_levels.yaml"},
)
