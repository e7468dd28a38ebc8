"""Civil IoT Taiwan SensorThings (`sta`), by default the WRA water-resources service: every 10
minutes, the Datastreams inside Taichung (`IOC_STA_FILTER`) with their Thing and Locations and
their Observations since the round's `since`, page by page through `@iot.nextLink`.

`since` is the newest observation time stored (`sta_observation`) minus the overlap window,
so a restart re-asks for everything published while the poller was down. Observations come
oldest first: if a datastream has more than `OBSERVATIONS_PER_DATASTREAM` of them in the window,
the newest wait for the next round instead of being skipped.
"""

from __future__ import annotations

from datetime import timezone
from functools import partial
from urllib.parse import quote, urlencode

from ingest.feeds.sta import next_link, parse_document

from ioc import settings

from ..http import Fetch, PollSpec, Round

DATASTREAMS_PER_PAGE = 20  # keeps a page (with its observations) well under the feed's 1 MiB
OBSERVATIONS_PER_DATASTREAM = 300  # two days of 10-minute readings


def _base() -> str:
    return (settings.get("IOC_STA_BASE_URL") or "").rstrip("/")


def _page(url: str) -> Fetch:
    # The parser learns the service and ids a page leaves out from the URL it came from.
    return Fetch(url, parse=partial(parse_document, url=url))


def requests(rnd: Round):
    since = rnd.since.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    query = {
        "$expand": f"Thing($expand=Locations),Observations($filter=phenomenonTime ge {since};"
                   f"$orderby=phenomenonTime asc;$top={OBSERVATIONS_PER_DATASTREAM})",
        "$top": str(DATASTREAMS_PER_PAGE),
    }
    condition = (settings.get("IOC_STA_FILTER") or "").strip()
    if condition.lower() != "none":
        query["$filter"] = condition
    yield _page(f"{_base()}/Datastreams?{urlencode(query, quote_via=quote, safe='$(),=;/')}")


def follow(rnd: Round, fetch: Fetch, body: bytes):
    link = next_link(body, same_host_as=fetch.url)
    if link:
        yield _page(link)


SPEC = PollSpec(name="sta", feed="sta", interval_s=600, requests=requests, follow=follow,
                cursor_table="sta_observation", keyed=False,
                missing=lambda: None if _base() else "IOC_STA_BASE_URL is empty",
                description="Civil IoT SensorThings: Taichung datastreams and their new observations")
