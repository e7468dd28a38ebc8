"""CAP alerts from NCDR's alert platform (民生示警公開資料平台): its Atom index (`IOC_CAP_INDEX_URL`)
every 10 minutes, then each entry's CAP document, once.

The index keeps old entries, so an entry is fetched only when it is new to this poller (its
id is remembered once stored) and not older than the round's `since` (last successful round
minus the overlap window; a poller with no memory looks `IOC_POLL_LOOKBACK_H` back). Entries
without a date are fetched once, whatever their age.
"""

from __future__ import annotations

from datetime import datetime
from urllib.parse import urljoin

from ingest.feeds import get
from ingest.feeds.cap import parse_atom_index

from ioc import settings

from ..http import Fetch, PollSpec, Round


def _index_url() -> str:
    return settings.get("IOC_CAP_INDEX_URL") or get("cap").extra["index_url"]


def requests(rnd: Round):
    yield Fetch(_index_url(), key="index", ingest=False)


def follow(rnd: Round, fetch: Fetch, body: bytes):
    if fetch.entry_id is not None:
        return  # a CAP document leads nowhere
    entries = parse_atom_index(body)
    for entry in entries:
        when = datetime.fromisoformat(entry["updated"]) if entry["updated"] else None
        if when is not None and when < rnd.since:
            continue  # listed long ago: fetched then, or older than what this poller covers
        # A link that is not http(s) fails to fetch and is dead-lettered with the reason.
        yield Fetch(urljoin(fetch.url, entry["link"]), entry_id=entry["id"], entry_time=when)


SPEC = PollSpec(name="cap", feed="cap", interval_s=600, requests=requests, follow=follow, keyed=False,
                missing=lambda: None if _index_url() else "IOC_CAP_INDEX_URL is empty",
                description="NCDR CAP alerts: Atom index, then each new entry's CAP document")
