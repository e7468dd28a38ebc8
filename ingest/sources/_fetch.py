"""HTTP for the pollers: one GET (or token POST) that cannot hang, cannot exhaust memory and
never leaks a key into a log line.

- Timeouts: connect and read (each socket operation), and a total deadline per attempt. httpx
  has no total deadline, so the connection pool runs on a network backend that shortens every
  socket operation to the time left: a server that trickles its headers or body a byte at a
  time is abandoned at the deadline, not after the 1,000th read timeout.
- Retries with exponential backoff and full jitter for what may pass (timeouts, refused or
  reset connections, 408/425/429/5xx; `Retry-After` is honoured up to the cap). Other answers
  (404, 401, a redirect loop) are permanent: retrying cannot help.
- Size: the body is streamed and decompressed here, bounded by `max_bytes` *after*
  decompression (a gzip bomb is cut off too); past it the download is aborted (`TooLarge`,
  with the first bytes kept for the dead-letter table).
- Conditional requests: the caller passes validators; a 304 comes back as `Answer.status` 304
  with an empty body.
- Secrets: `mask_url` hides query values whose name says key/token/secret/signature and any
  user:password; `redact` removes known secret values from any text (error messages quote URLs).
"""

from __future__ import annotations

import logging
import random
import re
import threading
import time
import zlib
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import parse_qsl, quote, urlsplit, urlunsplit

import httpcore
import httpx

log = logging.getLogger(__name__)

# httpx logs every request URL at INFO, and CWA's key is a query parameter: keep it quiet.
logging.getLogger("httpx").setLevel(logging.WARNING)
logging.getLogger("httpcore").setLevel(logging.WARNING)

USER_AGENT = "taichung-ioc-poller/1.0"
KEEP_PREFIX = 64 * 1024  # bytes of an oversized body kept for the dead-letter table
RETRYABLE_STATUS = frozenset({408, 425, 429, 500, 502, 503, 504, 507, 509, 520, 521, 522, 523, 524})
_SECRET_NAME = re.compile(r"auth|key|token|secret|passw|sig|credential", re.IGNORECASE)


# --- secrets -------------------------------------------------------------------------------------

def mask_url(url: str) -> str:
    """The URL with secret query values and any user:password replaced by `***`."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "(unparseable URL)"
    netloc = parts.netloc
    if "@" in netloc:
        netloc = "***@" + netloc.rsplit("@", 1)[1]
    query = "&".join(
        f"{quote(name, safe='$')}={'***' if _SECRET_NAME.search(name) else quote(value, safe=',$:()')}"
        for name, value in parse_qsl(parts.query, keep_blank_values=True))
    return urlunsplit((parts.scheme, netloc, parts.path, query, ""))


class Redactor:
    """Removes known secret values (keys, client secrets, tokens) from text."""

    def __init__(self, secrets: Iterable[str] = ()):
        self._lock = threading.Lock()
        self._secrets: set[str] = set()
        for s in secrets:
            self.add(s)

    def add(self, secret: str | None) -> None:
        if secret and len(secret) >= 4:  # shorter values would mask innocent text
            with self._lock:
                self._secrets.add(secret)
                self._secrets.add(quote(secret, safe=""))

    def __call__(self, text: str) -> str:
        for secret in sorted(self._secrets, key=len, reverse=True):
            text = text.replace(secret, "***")
        return text


# --- the total deadline ----------------------------------------------------------------------------

_deadline = threading.local()


def _time_left(timeout: float | None) -> float | None:
    """The socket timeout to use now: the operation's own, shortened to the deadline."""
    end = getattr(_deadline, "at", None)
    if end is None:
        return timeout
    left = end - time.monotonic()
    if left <= 0:
        raise httpcore.ReadTimeout("total deadline of the request passed")
    return left if timeout is None else min(timeout, left)


class _DeadlineStream(httpcore.NetworkStream):
    def __init__(self, inner: httpcore.NetworkStream):
        self._inner = inner

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._inner.read(max_bytes, _time_left(timeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, _time_left(timeout))

    def close(self) -> None:
        self._inner.close()

    def start_tls(self, ssl_context, server_hostname=None, timeout=None) -> httpcore.NetworkStream:
        return _DeadlineStream(self._inner.start_tls(ssl_context, server_hostname, _time_left(timeout)))

    def get_extra_info(self, info: str):
        return self._inner.get_extra_info(info)


class _DeadlineBackend(httpcore.NetworkBackend):
    def __init__(self):
        self._inner = httpcore.SyncBackend()

    def connect_tcp(self, host, port, timeout=None, local_address=None, socket_options=None):
        return _DeadlineStream(self._inner.connect_tcp(host, port, _time_left(timeout), local_address,
                                                       socket_options))

    def connect_unix_socket(self, path, timeout=None, socket_options=None):
        return _DeadlineStream(self._inner.connect_unix_socket(path, _time_left(timeout), socket_options))

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


class _DeadlineTransport(httpx.HTTPTransport):
    """httpx's transport on a connection pool whose sockets honour the per-request deadline.
    (httpx does not take a network backend as an argument; its pool is swapped once, here,
    and checked, so an httpx upgrade that renames it fails at start-up, not silently.)"""

    def __init__(self):
        super().__init__()
        if not isinstance(getattr(self, "_pool", None), httpcore.ConnectionPool):
            raise RuntimeError("httpx.HTTPTransport has no connection pool to put the deadline on")
        self._pool = httpcore.ConnectionPool(ssl_context=httpx.create_ssl_context(), max_connections=4,
                                             max_keepalive_connections=2, keepalive_expiry=30.0,
                                             network_backend=_DeadlineBackend())


# --- answers and errors ----------------------------------------------------------------------------

@dataclass(frozen=True)
class Limits:
    connect_s: float = 5.0
    read_s: float = 20.0
    deadline_s: float = 60.0  # one attempt, from connecting to the last byte
    retries: int = 3  # attempts after the first
    backoff_s: float = 2.0  # first backoff ceiling; doubles per retry (full jitter)
    backoff_cap_s: float = 60.0
    max_bytes: int = 16 << 20


@dataclass(frozen=True)
class Answer:
    status: int  # 2xx, or 304 (not modified, empty body)
    body: bytes
    url: str  # where the answer came from (after redirects)
    etag: str | None
    last_modified: str | None
    attempts: int


class FetchError(Exception):
    """No usable answer. `permanent`: retrying the same request cannot help (4xx, bad URL)."""

    def __init__(self, reason: str, *, permanent: bool, status: int | None = None, attempts: int = 1):
        super().__init__(reason)
        self.reason = reason
        self.permanent = permanent
        self.status = status
        self.attempts = attempts


class BadBody(FetchError):
    """The server answered, but the body cannot be taken (too large, broken compression):
    a problem of the payload, kept in the dead-letter table with `prefix`, its first bytes."""

    def __init__(self, reason: str, prefix: bytes = b""):
        super().__init__(reason, permanent=True)
        self.prefix = prefix


class TooLarge(BadBody):
    def __init__(self, limit: int, received: int, prefix: bytes, declared: bool):
        how = f"declares {received} bytes" if declared else f"passed {received} bytes"
        super().__init__(f"response body larger than the limit of {limit} bytes (it {how}; download aborted)",
                         prefix)
        self.limit = limit
        self.received = received


class _Retry(Exception):
    def __init__(self, reason: str, status: int | None = None, after: float | None = None):
        super().__init__(reason)
        self.reason = reason
        self.status = status
        self.after = after


# --- the fetcher ---------------------------------------------------------------------------------

class Fetcher:
    def __init__(self, limits: Limits, *, stop: threading.Event | None = None, redact: Redactor | None = None):
        self.limits = limits
        self.stop = stop or threading.Event()
        self.redact = redact or Redactor()
        self.client = httpx.Client(
            transport=_DeadlineTransport(),
            timeout=httpx.Timeout(connect=limits.connect_s, read=limits.read_s, write=limits.read_s,
                                  pool=limits.connect_s),
            follow_redirects=True, max_redirects=5,
            headers={"User-Agent": USER_AGENT, "Accept-Encoding": "gzip, deflate"})
        self.retried = 0  # retries made since created (for reports and tests)

    def close(self) -> None:
        self.client.close()

    def get(self, url: str, *, headers: dict | None = None, max_bytes: int | None = None) -> Answer:
        return self.request("GET", url, headers=headers, max_bytes=max_bytes)

    def request(self, method: str, url: str, *, headers: dict | None = None, data: dict | None = None,
                max_bytes: int | None = None) -> Answer:
        """The answer, after retries; FetchError (TooLarge) when there is none to be had."""
        limit = min(max_bytes or self.limits.max_bytes, self.limits.max_bytes)
        attempt = 0
        while True:
            try:
                return self._once(method, url, headers or {}, data, limit, attempt + 1)
            except _Retry as exc:
                reason = self.redact(exc.reason)
                if attempt >= self.limits.retries or self.stop.is_set():
                    raise FetchError(f"{reason} (after {attempt + 1} attempts)", permanent=False,
                                     status=exc.status, attempts=attempt + 1) from None
                ceiling = min(self.limits.backoff_cap_s, self.limits.backoff_s * 2 ** attempt)
                delay = random.uniform(0, ceiling)
                if exc.after is not None:
                    delay = min(max(delay, exc.after), self.limits.backoff_cap_s)
                attempt += 1
                self.retried += 1
                log.warning("%s %s: %s; retry %d of %d in %.1f s", method, mask_url(url), reason, attempt,
                            self.limits.retries, delay)
                if self.stop.wait(delay):
                    raise FetchError(f"{reason} (stopping)", permanent=False, status=exc.status,
                                     attempts=attempt) from None

    def _once(self, method, url, headers, data, limit, attempt) -> Answer:
        _deadline.at = time.monotonic() + self.limits.deadline_s
        try:
            with self.client.stream(method, url, headers=headers, data=data) as response:
                status = response.status_code
                if status == 304:
                    return Answer(304, b"", str(response.url), response.headers.get("etag"),
                                  response.headers.get("last-modified"), attempt)
                if status in RETRYABLE_STATUS:
                    raise _Retry(f"HTTP {status}", status, _retry_after(response.headers.get("retry-after")))
                if not 200 <= status < 300:
                    raise FetchError(f"HTTP {status}", permanent=True, status=status, attempts=attempt)
                body = _read_body(response, limit)
                return Answer(status, body, str(response.url), response.headers.get("etag"),
                              response.headers.get("last-modified"), attempt)
        except httpx.TimeoutException as exc:
            overdue = time.monotonic() >= _deadline.at - 0.01
            raise _Retry(f"no complete answer within the deadline of {self.limits.deadline_s:g} s" if overdue
                         else f"timed out ({type(exc).__name__})") from None
        except (httpx.NetworkError, httpx.RemoteProtocolError) as exc:
            raise _Retry(f"{type(exc).__name__}: {exc}") from None
        except (httpx.UnsupportedProtocol, httpx.InvalidURL, httpx.TooManyRedirects,
                httpx.LocalProtocolError) as exc:
            raise FetchError(self.redact(f"{type(exc).__name__}: {exc}"), permanent=True,
                             attempts=attempt) from None
        except httpx.HTTPError as exc:  # anything else on the way (a proxy error...): may pass
            raise _Retry(f"{type(exc).__name__}: {exc}") from None
        finally:
            _deadline.at = None


def _retry_after(value: str | None) -> float | None:
    if value and value.strip().isdigit():
        return float(value.strip())
    return None


def _read_body(response: httpx.Response, limit: int) -> bytes:
    encoding = response.headers.get("content-encoding", "identity").strip().lower()
    declared = response.headers.get("content-length", "")
    if encoding in ("", "identity") and declared.isdigit() and int(declared) > limit:
        raise TooLarge(limit, int(declared), b"", declared=True)
    inflate = _inflater(encoding)
    body = bytearray()
    for chunk in response.iter_raw(65536):
        if time.monotonic() > _deadline.at:
            raise httpx.ReadTimeout("total deadline of the request passed")
        if inflate is not None:
            # At most what still fits plus one byte: a bomb never expands past the limit.
            chunk = _inflate(inflate, chunk, limit - len(body) + 1)
            if inflate.unconsumed_tail:
                raise TooLarge(limit, len(body) + len(chunk), bytes((body + chunk)[:KEEP_PREFIX]),
                               declared=False)
        body += chunk
        if len(body) > limit:
            raise TooLarge(limit, len(body), bytes(body[:KEEP_PREFIX]), declared=False)
    if inflate is not None:
        body += _inflate(inflate, b"", 0)
        if len(body) > limit:
            raise TooLarge(limit, len(body), bytes(body[:KEEP_PREFIX]), declared=False)
    return bytes(body)


def _inflate(inflate, chunk: bytes, max_length: int) -> bytes:
    try:
        return inflate.decompress(chunk, max_length) if chunk else inflate.flush()
    except zlib.error as exc:
        raise BadBody(f"body is not valid compressed data: {exc}") from None


def _inflater(encoding: str):
    if encoding in ("", "identity"):
        return None
    if encoding in ("gzip", "x-gzip"):
        return zlib.decompressobj(16 + zlib.MAX_WBITS)
    if encoding == "deflate":
        return zlib.decompressobj()
    raise BadBody(f"unsupported Content-Encoding {encoding[:40]!r}")
