"""The HTTP poller engine (`ioc poll`): fetch on an interval, push every payload through the same
pipeline and sink as MQTT messages, remember what was fetched, never stop.

A source is a `PollSpec` (in `ingest.sources.polls`): its feed, its interval, the first
requests of a round (built from the poller's memory: `Round.since`), how one answer leads to
more (`follow`: the next page, an index's entries) and any headers (a bearer token). The engine
does the rest, the same way for every source:

- every answer goes through `ingest.pipeline.process` and `ingest.sink.Sink` as an
  `Envelope(source="http", topic=<URL with secrets masked>)`, so a bad payload lands in the
  dead-letter table with its reason, exactly like a bad MQTT message;
- conditional requests (If-None-Match / If-Modified-Since from the last answer's ETag and
  Last-Modified); a 304, or a body byte-identical to the last one (servers without validators),
  is a successful poll with nothing new: nothing is parsed or written;
- index entries (CAP) are fetched once: their ids are remembered once stored;
- `since`: where a round re-requests from. It is the newest data time stored (or the last
  successful round) minus the overlap window, so a restarted poller re-asks for everything
  published while it was down plus a margin for late publishing; duplicates are harmless
  (writes are idempotent) and mostly avoided (validators, body hashes, entry ids);
- each successful round that wrote nothing (304, unchanged, no new entries) writes a heartbeat
  in `feed_activity`, so the wall's feed-health strip sees a live poller, not a dead feed;
- errors (timeouts, refused connections, 5xx, a body over the limit, a payload that does not
  parse) are retried where retrying can help, logged with keys masked, counted in
  `poll_state` and Prometheus, and never end the process. The memory (`poll_state`) only
  advances after the data it covers is committed.
"""

from __future__ import annotations

import hashlib
import logging
import random
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, timezone

from prometheus_client import Counter, Gauge

from ingest import metrics
from ingest.envelope import Accepted, Envelope, Rejected
from ingest.feeds import Feed, FeedError, all_feeds
from ingest.pipeline import process
from ingest.sink import PermanentError, Sink, TransientError, all_tables

from ._fetch import Answer, BadBody, Fetcher, FetchError, Limits, Redactor, mask_url
from ._poll_state import PollState, PollStateStore

log = logging.getLogger(__name__)

MAX_CATCH_UP = timedelta(days=7)  # the farthest back a restart after a long outage reaches
SEEN_KEPT = timedelta(days=8)  # entry ids older than this are forgotten (they are past MAX_CATCH_UP)
MAX_SEEN = 20000
DB_ATTEMPTS = 4  # writes to a database that is away, before the round gives up (and retries later)

ROUNDS = Counter("ioc_poll_rounds_total", "HTTP poll rounds", ["poller", "outcome"])
REQUESTS = Counter("ioc_poll_requests_total", "HTTP requests of the pollers by outcome "
                   "(new, not_modified, unchanged, bad_body, failed)", ["poller", "outcome"])
RETRIES = Counter("ioc_poll_retries_total", "HTTP requests retried (timeouts, 5xx, refused)", ["poller"])
LAST_SUCCESS = Gauge("ioc_poll_last_success_timestamp_seconds", "End of the last successful round", ["poller"])


@dataclass(frozen=True)
class Fetch:
    """One request of a round."""

    url: str  # may hold a key: only `mask_url(url)` is ever logged or stored
    # Names the request in the poller's memory (validators, body hash); None for a URL that
    # changes every round (a `since` in it), which no validator could match.
    key: str | None = None
    ingest: bool = True  # False: not a feed payload (an index); only `follow` reads it
    parse: Callable[[bytes], list] | None = None  # instead of the feed's `parse` (e.g. with the URL)
    entry_id: str | None = None  # an index entry: skipped once stored
    entry_time: datetime | None = None
    max_bytes: int | None = None  # default: the feed's `max_bytes` (payloads), else the global limit


@dataclass(frozen=True)
class PollSpec:
    name: str  # `ioc poll --only NAME`; also the poller's row in poll_state
    feed: str  # the feed whose pipeline takes the payloads (and gets the heartbeats)
    interval_s: float
    requests: Callable[["Round"], Iterable[Fetch]]  # the first requests of a round
    follow: Callable[["Round", Fetch, bytes], Iterable[Fetch]] | None = None  # what an answer leads to
    headers: Callable[["Round"], dict] | None = None  # per round (e.g. a bearer token)
    reauthorize: Callable[[], None] | None = None  # after a 401: forget the token `headers` used
    # The table whose time column is the poller's cursor (`last_data_at`); else the newest data
    # time of the accepted payloads.
    cursor_table: str | None = None
    missing: Callable[[], str | None] = lambda: None  # what is not configured, or None when it can run
    keyed: bool = True  # needs credentials: runs by default once they are set
    description: str = ""


@dataclass
class Round:
    spec: PollSpec
    state: PollState
    started: datetime
    since: datetime  # re-request data from here (overlap included)
    fetcher: Fetcher
    redact: Redactor
    newest: datetime | None = None  # newest data time stored in this round
    answers: dict = field(default_factory=dict)  # body hash -> URL (masked), to notice a paging loop


@dataclass
class RoundReport:
    poller: str
    ok: bool = False
    since: datetime | None = None
    requests: int = 0
    not_modified: int = 0
    unchanged: int = 0
    written: int = 0  # payloads (or dead letters) committed through the sink
    stored: int = 0  # of which accepted
    rejected: int = 0  # dead letters written
    skipped: int = 0  # index entries already fetched
    retries: int = 0
    heartbeat: bool = False
    error: str | None = None
    seconds: float = 0.0
    urls: list = field(default_factory=list)  # masked, in order (for logs and tests)


@dataclass(frozen=True)
class PollOptions:
    limits: Limits = Limits()
    overlap: timedelta = timedelta(minutes=30)
    lookback: timedelta = timedelta(hours=24)  # how far back a poller without memory starts
    db_timeout_s: float = 10.0
    max_requests: int = 1000  # per round: a paging loop cannot run away


class RoundError(Exception):
    pass


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class Poller:
    """Runs rounds of any spec. Not thread-safe: one per thread."""

    def __init__(self, db_url: str, options: PollOptions | None = None, *, stop: threading.Event | None = None,
                 redact: Redactor | None = None):
        self.options = options or PollOptions()
        self.stop = stop or threading.Event()
        self.redact = redact or Redactor()
        self.feeds: dict[str, Feed] = all_feeds()
        self.sink = Sink(db_url, all_tables(), timeout_s=self.options.db_timeout_s, application_name="ioc-poll")
        self.store = PollStateStore(db_url, timeout_s=self.options.db_timeout_s)
        self.fetcher = Fetcher(self.options.limits, stop=self.stop, redact=self.redact)

    def close(self) -> None:
        self.fetcher.close()
        self.sink.close()
        self.store.close()

    # -- a round --------------------------------------------------------------------------------
    def poll(self, spec: PollSpec) -> RoundReport:
        """One round of `spec`. Never raises: the report says how it went."""
        started = time.monotonic()
        report = RoundReport(spec.name)
        try:
            self._round(spec, report)
        except Exception as exc:  # noqa: BLE001 - e.g. the heartbeat or the memory could not be kept
            log.exception("poll %s: internal error", spec.name)
            report.ok, report.error = False, self.redact(f"internal error: {type(exc).__name__}: {exc}")
        finally:
            # Connections are opened per round: pollers are idle most of the time.
            self.sink.close()
            self.store.close()
        report.seconds = time.monotonic() - started
        ROUNDS.labels(spec.name, "ok" if report.ok else "failed").inc()
        RETRIES.labels(spec.name).inc(report.retries)
        if report.ok:
            LAST_SUCCESS.labels(spec.name).set(time.time())
            log.info("poll %s ok: %d request(s), %d not modified, %d unchanged, %d payload(s) written "
                     "(%d dead-lettered), %d entr(ies) already fetched, %d retries%s, %.1f s",
                     spec.name, report.requests, report.not_modified, report.unchanged, report.written,
                     report.rejected, report.skipped, report.retries, ", heartbeat" if report.heartbeat else "",
                     report.seconds)
        else:
            log.warning("poll %s failed after %.1f s: %s", spec.name, report.seconds, report.error)
        return report

    def _round(self, spec: PollSpec, report: RoundReport) -> None:
        try:
            state = self.store.load(spec.name)
        except Exception as exc:  # noqa: BLE001 - the database is away: try again next round
            report.error = self.redact(f"cannot read poll_state: {type(exc).__name__}: {exc}")
            return
        now = utcnow()
        rnd = Round(spec, state, now, self._since(spec, state, now), self.fetcher, self.redact)
        report.since = rnd.since
        validators: dict[str, dict] = {}
        retried = self.fetcher.retried
        try:
            headers = spec.headers(rnd) if spec.headers else {}
            queue = deque((fetch, False) for fetch in spec.requests(rnd))  # (fetch, led to by an answer)
            requested: set[str] = set()
            while queue:
                if self.stop.is_set():
                    raise RoundError("stopping")
                fetch, followed = queue.popleft()
                if fetch.entry_id is not None and fetch.entry_id in state.seen:
                    report.skipped += 1
                    continue
                if fetch.url in requested:
                    if fetch.entry_id is not None:  # two index entries, one document: fetched already
                        self._remember(rnd, fetch)
                        continue
                    raise RoundError(f"{mask_url(fetch.url)} requested twice in one round (a paging loop?)")
                if len(requested) >= self.options.max_requests:
                    raise RoundError(f"more than {self.options.max_requests} requests in one round")
                requested.add(fetch.url)
                more = self._fetch(rnd, fetch, followed, headers, validators, report)
                queue.extend((next_fetch, True) for next_fetch in more)
            report.ok = True
        except (FetchError, RoundError, TransientError, PermanentError) as exc:
            report.error = self.redact(getattr(exc, "reason", None) or str(exc))
            if isinstance(exc, FetchError) and exc.status == 401 and spec.reauthorize:
                spec.reauthorize()
        except Exception as exc:  # noqa: BLE001 - a bug in one source must not stop the others
            log.exception("poll %s: internal error", spec.name)
            report.error = self.redact(f"internal error: {type(exc).__name__}: {exc}")
        finally:
            report.retries = self.fetcher.retried - retried
            self._finish(rnd, report, validators)

    def _since(self, spec: PollSpec, state: PollState, now: datetime) -> datetime:
        base = (state.last_data_at or state.last_success) if spec.cursor_table else state.last_success
        if base is None:
            return now - self.options.lookback
        return max(min(base, now) - self.options.overlap, now - max(self.options.lookback, MAX_CATCH_UP))

    def _finish(self, rnd: Round, report: RoundReport, validators: dict) -> None:
        state, now = rnd.state, utcnow()
        state.last_attempt = now
        state.seen = _pruned(state.seen, now - SEEN_KEPT)
        if report.ok:
            state.last_success, state.failures, state.last_error = rnd.started, 0, None
            state.validators = validators
            if rnd.newest is not None:
                newest = min(rnd.newest, now)
                state.last_data_at = newest if state.last_data_at is None else max(state.last_data_at, newest)
            if report.written == 0:
                # Nothing new, and that is news too: the poller is alive.
                try:
                    self.sink.heartbeat(rnd.spec.feed, state.last_data_at)
                    report.heartbeat = True
                except (TransientError, PermanentError) as exc:
                    log.warning("poll %s: heartbeat not recorded: %s", rnd.spec.name, self.redact(str(exc)))
        else:
            # The cursor stays where it was: pages or entries after the failure were not fetched.
            state.failures += 1
            state.last_error = (report.error or "failed")[:1000]
        try:
            self.store.save(state)
        except Exception as exc:  # noqa: BLE001 - the next round re-requests; writes are idempotent
            log.warning("poll %s: poll_state not saved: %s", rnd.spec.name,
                        self.redact(f"{type(exc).__name__}: {exc}"))

    # -- one request ------------------------------------------------------------------------------
    def _fetch(self, rnd: Round, fetch: Fetch, followed: bool, headers: dict, validators: dict,
               report: RoundReport) -> list[Fetch]:
        spec, feed = rnd.spec, self.feeds[rnd.spec.feed]
        request_headers = dict(headers)
        old = rnd.state.validators.get(fetch.key) if fetch.key else None
        if old:
            if old.get("etag"):
                request_headers["If-None-Match"] = old["etag"]
            if old.get("last_modified"):
                request_headers["If-Modified-Since"] = old["last_modified"]
        limit = fetch.max_bytes or (feed.max_bytes if fetch.ingest else None)
        report.requests += 1
        report.urls.append(mask_url(fetch.url))
        received_at = utcnow()
        try:
            answer = self.fetcher.get(fetch.url, headers=request_headers, max_bytes=limit)
        except BadBody as exc:
            REQUESTS.labels(spec.name, "bad_body").inc()
            self._dead_letter(rnd, fetch.url, exc.prefix, exc.reason, received_at, report)
            self._remember(rnd, fetch)
            return []
        except FetchError as exc:
            REQUESTS.labels(spec.name, "failed").inc()
            if exc.permanent and fetch.entry_id is not None:
                # An entry the index lists but that cannot be had (404, not an http link): keep
                # why, move on. (Timeouts and 5xx are not permanent: the round fails, retried.)
                self._dead_letter(rnd, fetch.url, b"", f"fetching the index entry failed: {exc.reason}",
                                  received_at, report)
                self._remember(rnd, fetch)
                return []
            raise FetchError(f"{mask_url(fetch.url)}: {exc.reason}", permanent=exc.permanent,
                             status=exc.status) from None
        if answer.status == 304:
            REQUESTS.labels(spec.name, "not_modified").inc()
            report.not_modified += 1
            if fetch.key:
                validators[fetch.key] = old
            return []
        digest = hashlib.sha256(answer.body).hexdigest()
        if fetch.entry_id is None:
            if followed and digest in rnd.answers:
                raise RoundError(f"{mask_url(answer.url)} answered exactly as {rnd.answers[digest]} did "
                                 "(does the server ignore the paging parameters?)")
            rnd.answers[digest] = mask_url(answer.url)
        unchanged = bool(old) and old.get("sha256") == digest
        if fetch.key:
            validators[fetch.key] = {"etag": answer.etag, "last_modified": answer.last_modified,
                                     "sha256": digest}
        if unchanged:
            REQUESTS.labels(spec.name, "unchanged").inc()
            report.unchanged += 1
        else:
            REQUESTS.labels(spec.name, "new").inc()
            if fetch.ingest:
                self._ingest(rnd, fetch, answer, feed, received_at, report)
        if spec.follow is None:
            return []
        try:
            return list(spec.follow(rnd, fetch, answer.body))
        except FeedError as exc:
            if fetch.ingest:
                # The page is stored, but where it leads cannot be followed: the round is incomplete.
                raise RoundError(f"{mask_url(answer.url)}: cannot follow: {exc.reason}") from None
            if not unchanged:  # an index that does not parse is kept once, not every round
                self._dead_letter(rnd, answer.url, answer.body, exc.reason, received_at, report,
                                  stage=exc.stage)
            return []

    def _ingest(self, rnd: Round, fetch: Fetch, answer: Answer, feed: Feed, received_at: datetime,
                report: RoundReport) -> None:
        env = Envelope("http", mask_url(answer.url), answer.body, received_at)
        result = process(env, replace(feed, parse=fetch.parse) if fetch.parse else feed)
        self._write([(env, result)], report)
        if isinstance(result, Accepted):
            report.stored += 1
            if result.refused:
                report.rejected += 1
            newest = self._data_time(rnd.spec, feed, result)
            if newest is not None and (rnd.newest is None or newest > rnd.newest):
                rnd.newest = newest
        else:
            report.rejected += 1
        self._remember(rnd, fetch)

    def _dead_letter(self, rnd: Round, url: str, raw: bytes, reason: str, received_at: datetime,
                     report: RoundReport, stage: str = "validate") -> None:
        env = Envelope("http", mask_url(url), raw, received_at)
        self._write([(env, Rejected(rnd.spec.feed, stage, self.redact(reason)[:2000]))], report)
        report.rejected += 1
        log.warning("poll %s: %s dead-lettered: %s", rnd.spec.name, env.topic, self.redact(reason)[:300])

    def _write(self, items: list, report: RoundReport) -> None:
        started = time.perf_counter()
        for attempt in range(DB_ATTEMPTS):
            try:
                written = self.sink.write(items)
                break
            except TransientError as exc:
                if attempt == DB_ATTEMPTS - 1 or self.stop.is_set():
                    raise
                metrics.DB_ERRORS.inc()
                log.warning("poll: database unavailable (%s); retrying", self.redact(str(exc))[:200])
                self.stop.wait(random.uniform(0, min(10.0, 0.5 * 2 ** attempt)))
        report.written += 1
        metrics.observe_batch(written, time.perf_counter() - started, [env for env, _ in items])

    def _remember(self, rnd: Round, fetch: Fetch) -> None:
        if fetch.entry_id is not None:
            rnd.state.seen[fetch.entry_id] = (fetch.entry_time or utcnow()).isoformat()

    @staticmethod
    def _data_time(spec: PollSpec, feed: Feed, result: Accepted) -> datetime | None:
        if spec.cursor_table is None:
            return result.data_time
        table = next(t for t in feed.tables if t.name == spec.cursor_table)
        i = table.columns.index(table.time_column)
        return max((values[i] for name, values in result.rows if name == spec.cursor_table), default=None)


def _pruned(seen: dict, oldest: datetime) -> dict:
    def when(value) -> datetime:
        try:
            t = datetime.fromisoformat(value)
            return t if t.tzinfo else t.replace(tzinfo=timezone.utc)
        except (TypeError, ValueError):
            return oldest  # unreadable: forget it with the old ones
    kept = sorted(((when(v), k, v) for k, v in seen.items()), reverse=True)
    return {k: v for t, k, v in kept[:MAX_SEEN] if t > oldest}


# -- running --------------------------------------------------------------------------------------

def run_pollers(specs: list[PollSpec], db_url: str, options: PollOptions, stop: threading.Event, *,
                once: bool = False, redact: Redactor | None = None) -> bool:
    """Poll every spec on its interval, each in a thread of its own (a slow source never delays
    another), until `stop`; with `once`, one round of each in turn. True when all rounds of
    `once` succeeded."""
    if once:
        poller = Poller(db_url, options, stop=stop, redact=redact)
        try:
            return all([poller.poll(spec).ok for spec in specs])
        finally:
            poller.close()
    threads = []
    for spec in specs:
        thread = threading.Thread(target=_loop, args=(spec, db_url, options, stop, redact),
                                  name=f"poll-{spec.name}", daemon=True)
        thread.start()
        threads.append(thread)
    log.info("polling: %s", ", ".join(f"{s.name} every {s.interval_s:g} s" for s in specs) or "nothing")
    stop.wait()
    for thread in threads:
        thread.join(timeout=options.limits.deadline_s + 5)
    return True


def _loop(spec: PollSpec, db_url: str, options: PollOptions, stop: threading.Event, redact) -> None:
    poller = Poller(db_url, options, stop=stop, redact=redact)
    failures = 0
    try:
        while not stop.is_set():
            started = time.monotonic()
            try:
                ok = poller.poll(spec).ok
            except Exception:  # noqa: BLE001 - poll() does not raise; this is the last guard
                log.exception("poll %s: round crashed", spec.name)
                ok = False
            if ok:
                failures = 0
                wait = spec.interval_s - (time.monotonic() - started)
            else:
                # A failed round is tried again sooner than the interval, backing off with jitter.
                failures += 1
                wait = min(spec.interval_s, random.uniform(0.5, 1.0) * min(300.0, 15.0 * 2 ** (failures - 1)))
            stop.wait(max(0.0, wait))
    finally:
        poller.close()
