"""CWA weather stations (`cwa-stations`): O-A0001-001 (automatic stations, 自動氣象站) and
O-A0003-001 (manned stations, 局屬氣象站) in the current `records.Station[]` shape.

One record per station and observation time: identity, WGS84 position, county/town and the
Taichung district code, every reading by name with its unit (`readings`), and flat columns for
what the wall shows. CWA's special values become null or zero with a flag (see `_cwa`).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from . import _cwa
from ._common import TAIWAN_BBOX, check_range, iso, parse_time
from .base import Feed, FeedError, Table

DATASETS = ("O-A0001-001", "O-A0003-001")
dataset_url = _cwa.dataset_url

# name, alternative paths under WeatherElement, kind (for special values / ranges), unit,
# path of the time the value occurred at (extremes and gusts), if any.
_DAILY_HIGH = ("DailyExtreme", "DailyHigh", "TemperatureInfo")
_DAILY_LOW = ("DailyExtreme", "DailyLow", "TemperatureInfo")
READINGS = (
    ("weather", [("Weather",)], "text", None, None),
    ("visibility", [("VisibilityDescription",)], "text", "km", None),
    ("sunshine_duration", [("SunshineDuration",)], "sunshine", "h", None),
    ("precipitation_now", [("Now", "Precipitation")], "precipitation", "mm", None),
    ("wind_direction", [("WindDirection",)], "direction", "°", None),
    ("wind_speed", [("WindSpeed",)], "wind_speed", "m/s", None),
    ("air_temperature", [("AirTemperature",)], "temperature", "°C", None),
    ("relative_humidity", [("RelativeHumidity",)], "humidity", "%", None),
    ("air_pressure", [("AirPressure",)], "pressure", "hPa", None),
    ("uv_index", [("UVIndex",)], "uv", "UVI", None),
    ("max_10min_wind_speed", [("Max10MinAverage", "WindSpeed")], "wind_speed", "m/s",
     ("Max10MinAverage", "Occurred_at", "DateTime")),
    ("max_10min_wind_direction", [("Max10MinAverage", "Occurred_at", "WindDirection")], "direction", "°", None),
    ("peak_gust_speed", [("GustInfo", "PeakGustSpeed")], "wind_speed", "m/s", ("GustInfo", "Occurred_at", "DateTime")),
    ("peak_gust_direction", [("GustInfo", "Occurred_at", "WindDirection")], "direction", "°", None),
    ("daily_high_temperature", [(*_DAILY_HIGH, "AirTemperature"), ("DailyHigh", "TemperatureInfo", "AirTemperature")],
     "temperature", "°C", (*_DAILY_HIGH, "Occurred_at", "DateTime")),
    ("daily_low_temperature", [(*_DAILY_LOW, "AirTemperature"), ("DailyLow", "TemperatureInfo", "AirTemperature")],
     "temperature", "°C", (*_DAILY_LOW, "Occurred_at", "DateTime")),
)
# Flat columns the wall reads without opening `readings`.
FLAT = {
    "temperature_c": "air_temperature", "humidity_pct": "relative_humidity", "pressure_hpa": "air_pressure",
    "wind_speed_ms": "wind_speed", "wind_dir_deg": "wind_direction", "gust_ms": "peak_gust_speed",
    "precipitation_now_mm": "precipitation_now",
}

_MISSING = object()


def _lookup(element: dict, path: tuple[str, ...], *, field: str):
    node = element
    for i, key in enumerate(path):
        if node is None or node == "":
            return _MISSING
        node = _cwa.obj(node, field=f"{field}.{'.'.join(path[:i])}" if i else field)
        if key not in node:
            return _MISSING
        node = node[key]
    return node


def _readings(element: dict, *, field: str) -> dict:
    out = {}
    for name, paths, kind, unit, time_path in READINGS:
        for path in paths:
            raw = _lookup(element, path, field=field)
            if raw is not _MISSING:
                break
        else:
            continue  # this station does not report it
        where = f"{field}.{'.'.join(path)}"
        if kind == "text":
            value, flag = _cwa.clean_text(raw, field=where), None
        else:
            value, flag = _cwa.clean_value(raw, kind, field=where)
        reading = {"value": value, "unit": unit}
        if flag:
            reading["flag"] = flag
        if time_path and value is not None:
            when = _lookup(element, time_path, field=field)
            if when is not _MISSING:
                at = _cwa.optional_time(when, field=f"{field}.{'.'.join(time_path)}")
                reading["time"] = iso(at)
        out[name] = reading
    return out


def _station_record(item, index: int, dataset: str | None) -> dict:
    field = f"Station[{index}]"
    station = _cwa.obj(item, field=field)
    station_id = _cwa.text(station.get("StationId"), field=f"{field}.StationId", required=True, limit=40)
    obs = _cwa.opt_obj(station.get("ObsTime"), field=f"{field}.ObsTime")
    when = parse_time(obs.get("DateTime"), field=f"{field}.ObsTime.DateTime")
    geo = _cwa.opt_obj(station.get("GeoInfo"), field=f"{field}.GeoInfo")
    lon, lat = _cwa.wgs84_position(geo, field=f"{field}.GeoInfo")
    county = _cwa.text(geo.get("CountyName"), field=f"{field}.GeoInfo.CountyName")
    town = _cwa.text(geo.get("TownName"), field=f"{field}.GeoInfo.TownName")
    altitude = None
    if geo.get("StationAltitude") not in (None, ""):
        altitude, _flag = _cwa.clean_value(geo["StationAltitude"], "elevation",
                                           field=f"{field}.GeoInfo.StationAltitude")
    element = _cwa.opt_obj(station.get("WeatherElement"), field=f"{field}.WeatherElement")
    readings = _readings(element, field=f"{field}.WeatherElement")
    record = {
        "station_id": station_id,
        "name": _cwa.text(station.get("StationName"), field=f"{field}.StationName", limit=80),
        "dataset": dataset,
        "time": iso(when),
        "lon": lon,
        "lat": lat,
        "geometry": None if lon is None else {"type": "Point", "coordinates": [lon, lat]},
        "altitude_m": altitude,
        "county": county,
        "county_code": _cwa.text(geo.get("CountyCode"), field=f"{field}.GeoInfo.CountyCode", limit=20),
        "town": town,
        "town_code": _cwa.text(geo.get("TownCode"), field=f"{field}.GeoInfo.TownCode", limit=20),
        "district_code": _cwa.taichung_district(county, town, lon, lat),
        "weather": readings.get("weather", {}).get("value"),
    }
    for column, name in FLAT.items():
        record[column] = readings.get(name, {}).get("value")
    record["readings"] = readings
    return record


def parse_stations(payload: bytes) -> list[dict]:
    doc = _cwa.load(payload)
    items, dataset = _cwa.envelope_items(doc, list_key="Station", dataset_keys=("StationId",))
    return [_station_record(item, i, dataset) for i, item in enumerate(items)]


_RANGES = {
    "temperature_c": (-30, 45), "humidity_pct": (0, 100), "pressure_hpa": (500, 1100),
    "wind_speed_ms": (0, 90), "wind_dir_deg": (0, 360), "gust_ms": (0, 120), "precipitation_now_mm": (0, 3000),
}


def check_station(rec: dict) -> None:
    if not 0 < len(rec["station_id"]) <= 20:
        raise FeedError("validate", "station_id must be 1-20 characters")
    _cwa.check_box(rec["lon"], rec["lat"], TAIWAN_BBOX, field=f"station {rec['station_id']}", where="Taiwan")
    _cwa.check_time_window(datetime.fromisoformat(rec["time"]), max_age=timedelta(days=14),
                           field=f"station {rec['station_id']} ObsTime")
    for column, (lo, hi) in _RANGES.items():
        check_range(rec[column], lo, hi, field=f"station {rec['station_id']} {column}")
    if len(rec["readings"]) > 64:
        raise FeedError("validate", "more than 64 readings for one station")


def station_rows(rec: dict, received_at: datetime):
    when = datetime.fromisoformat(rec["time"])
    flat = [rec[c] for c in FLAT]
    yield "cwa_station_reading", (when, rec["station_id"], *flat, rec["readings"])
    yield "cwa_station", (rec["station_id"], rec["name"], rec["dataset"], rec["lon"], rec["lat"], rec["altitude_m"],
                          rec["county"], rec["town"], rec["town_code"], rec["district_code"], rec["weather"],
                          *flat, rec["readings"], when)


STATION_READING = Table("cwa_station_reading", ("time", "station_id", *FLAT, "readings"), key=("station_id", "time"))
STATION = Table("cwa_station", ("station_id", "name", "dataset", "lon", "lat", "altitude_m", "county", "town",
                                "town_code", "district_code", "weather", *FLAT, "readings", "time"),
                key=("station_id",), mode="latest")

STATIONS = Feed(
    name="cwa-stations",
    description="CWA weather stations (O-A0001-001 automatic, O-A0003-001 manned): temperature, humidity, "
                "wind, pressure, precipitation / 中央氣象署氣象站觀測",
    format="json",
    parse=parse_stations,
    check=check_station,
    to_rows=station_rows,
    cadence=timedelta(minutes=10),
    topics=("ioc/v1/weather/stations",),
    tables=(STATION_READING, STATION),
    schema="cwa-stations.schema.json",
    max_bytes=4 << 20,  # the whole-country O-A0001-001 answer is ~0.7 MB for ~480 stations
    extra={"cwa_datasets": DATASETS, "cwa_api": "datastore"},
)
