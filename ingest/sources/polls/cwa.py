"""Central Weather Administration open data (`IOC_CWA_API_KEY`): stations (O-A0001-001,
O-A0003-001), rain gauges (O-A0002-001) and felt-earthquake reports (E-A0015-001) from the
datastore API every 10 minutes; typhoon tracks (W-C0034-005) from the file API every hour.

The datasets and the API each feed uses come from the feed (`Feed.extra["cwa_datasets"]`,
`["cwa_api"]`). CWA's station datasets have no county filter (`GeoInfo` selects fields, it
does not filter), so the whole country comes (~0.7 MB) and the feeds place each station in its
Taichung district or none. These are snapshots of "now": nothing older can be asked for, so
there is no `since`; an unchanged answer (same ETag or same bytes) is not parsed again.
"""

from __future__ import annotations

from ingest.feeds import _cwa, get

from ioc import settings

from ..http import Fetch, PollSpec, Round

PUBLIC_ORIGIN = "https://opendata.cwa.gov.tw"
# Query parameters per dataset (the datastore API's own names).
PARAMS = {"E-A0015-001": {"limit": 20}}  # the latest reports, newest first


def _missing() -> str | None:
    return None if settings.get("IOC_CWA_API_KEY") else "IOC_CWA_API_KEY is not set"


def _rebased(url: str) -> str:
    """`_cwa`'s URL on the configured server (tests point it at a local one)."""
    base = (settings.get("IOC_CWA_BASE_URL") or PUBLIC_ORIGIN).rstrip("/")
    return base + url[len(PUBLIC_ORIGIN):] if url.startswith(PUBLIC_ORIGIN) else url


def _requests_for(feed_name: str):
    feed = get(feed_name)
    datasets, api = feed.extra["cwa_datasets"], feed.extra["cwa_api"]

    def requests(rnd: Round):
        key = settings.get("IOC_CWA_API_KEY")
        for dataset in datasets:
            if api == "file":
                url = _cwa.file_url(dataset, key)
            else:
                url = _cwa.dataset_url(dataset, key, **PARAMS.get(dataset, {}))
            yield Fetch(_rebased(url), key=dataset)

    return requests


def _spec(feed: str, interval_s: float, description: str) -> PollSpec:
    return PollSpec(name=feed, feed=feed, interval_s=interval_s, requests=_requests_for(feed),
                    missing=_missing, description=description)


SPECS = (
    _spec("cwa-stations", 600, "CWA weather stations O-A0001-001 + O-A0003-001 (datastore API)"),
    _spec("cwa-rain", 600, "CWA rain gauges O-A0002-001 (datastore API)"),
    _spec("cwa-quake", 600, "CWA felt-earthquake reports E-A0015-001, latest 20 (datastore API)"),
    _spec("cwa-typhoon", 3600, "CWA typhoon tracks W-C0034-005 (file API)"),
)
