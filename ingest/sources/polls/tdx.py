"""TDX (運輸資料流通服務) road traffic of one city (`IOC_TDX_CITY`, Taichung): detector sites
(`tdx-vd`) and cameras (`tdx-cctv`) every 6 hours, live detector readings (`tdx-vdlive`) every
minute. TDX wants an OAuth bearer token (client credentials: `IOC_TDX_CLIENT_ID`,
`IOC_TDX_CLIENT_SECRET`), cached until shortly before it expires.

Lists are read in pages (`$top`/`$skip`) so no answer grows past the feeds' 1 MiB; a page
shorter than `PAGE` is the last. Live readings are a snapshot of now: there is no `since`.
"""

from __future__ import annotations

import threading
import time

import msgspec

from ioc import settings

from .._fetch import FetchError
from ..http import Fetch, PollSpec, Round

PAGE = 200
PATHS = {
    "tdx-vd": ("/v2/Road/Traffic/VD/City/{city}", "VDs"),
    "tdx-vdlive": ("/v2/Road/Traffic/Live/VD/City/{city}", "VDLives"),
    "tdx-cctv": ("/v2/Road/Traffic/CCTV/City/{city}", "CCTVs"),
}
TOKEN_MARGIN_S = 300  # renew this long before the token expires


def _missing() -> str | None:
    absent = [n for n in ("IOC_TDX_CLIENT_ID", "IOC_TDX_CLIENT_SECRET") if not settings.get(n)]
    return f"{' and '.join(absent)} not set" if absent else None


class _Tokens:
    """One bearer token per client id, shared by the TDX pollers of the process."""

    def __init__(self):
        self.lock = threading.Lock()
        self.cache: dict[tuple[str, str], tuple[str, float]] = {}

    def headers(self, rnd: Round) -> dict:
        url, client = settings.get("IOC_TDX_TOKEN_URL"), settings.get("IOC_TDX_CLIENT_ID")
        with self.lock:
            token, expires = self.cache.get((url, client), ("", 0.0))
            if time.monotonic() >= expires:
                token, lifetime = self._fetch(rnd, url, client)
                expires = time.monotonic() + max(60.0, lifetime - TOKEN_MARGIN_S)
                self.cache[(url, client)] = (token, expires)
        rnd.redact.add(token)
        return {"Authorization": f"Bearer {token}", "Accept": "application/json"}

    @staticmethod
    def _fetch(rnd: Round, url: str, client: str) -> tuple[str, float]:
        secret = settings.get("IOC_TDX_CLIENT_SECRET")
        rnd.redact.add(secret)
        answer = rnd.fetcher.request("POST", url, max_bytes=64 * 1024, data={
            "grant_type": "client_credentials", "client_id": client, "client_secret": secret},
            headers={"Content-Type": "application/x-www-form-urlencoded"})
        try:
            doc = msgspec.json.decode(answer.body)
            token, lifetime = doc["access_token"], float(doc.get("expires_in") or 3600)
        except (msgspec.DecodeError, KeyError, TypeError, ValueError, AttributeError):
            raise FetchError("the TDX token endpoint answered without an access_token",
                             permanent=True) from None
        if not isinstance(token, str) or not token:
            raise FetchError("the TDX token endpoint answered an empty access_token", permanent=True)
        return token, lifetime

    def forget(self) -> None:
        with self.lock:
            self.cache.clear()


TOKENS = _Tokens()


def _url(feed: str, skip: int) -> str:
    path, _ = PATHS[feed]
    base = (settings.get("IOC_TDX_BASE_URL") or "").rstrip("/")
    return f"{base}{path.format(city=settings.get('IOC_TDX_CITY'))}?$format=JSON&$top={PAGE}&$skip={skip}"


def _pages(feed: str):
    def requests(rnd: Round):
        yield Fetch(_url(feed, 0), key="skip=0")

    def follow(rnd: Round, fetch: Fetch, body: bytes):
        try:
            doc = msgspec.json.decode(body.removeprefix(b"\xef\xbb\xbf"))
        except msgspec.DecodeError:
            return  # a broken page is dead-lettered by the pipeline; paging stops there
        items = doc.get(PATHS[feed][1]) if isinstance(doc, dict) else doc
        if isinstance(items, list) and len(items) >= PAGE:
            skip = int(fetch.key.partition("=")[2]) + PAGE
            yield Fetch(_url(feed, skip), key=f"skip={skip}")

    return requests, follow


def _spec(feed: str, interval_s: float, description: str) -> PollSpec:
    requests, follow = _pages(feed)
    return PollSpec(name=feed, feed=feed, interval_s=interval_s, requests=requests, follow=follow,
                    headers=TOKENS.headers, reauthorize=TOKENS.forget, missing=_missing,
                    description=description)


SPECS = (
    _spec("tdx-vd", 6 * 3600, "TDX vehicle detector sites of the city"),
    _spec("tdx-vdlive", 60, "TDX live vehicle detector readings of the city"),
    _spec("tdx-cctv", 6 * 3600, "TDX CCTV sites of the city"),
)
