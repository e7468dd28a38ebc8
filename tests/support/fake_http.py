"""A local HTTP server standing in for the internet APIs the pollers read (CWA, NCDR, Civil IoT,
TDX): routes answer recorded payloads, and can be slow, fail, or send far too much.

Each route is a function of the request returning a `Reply`; every request is recorded.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit


@dataclass
class Request:
    method: str
    path: str
    query: dict  # name -> first value
    raw_query: str
    headers: dict  # lower-case name -> value
    body: bytes


@dataclass
class Reply:
    status: int = 200
    body: bytes | Iterable[bytes] = b""  # an iterable is streamed chunk by chunk, without a length
    headers: dict = field(default_factory=dict)
    delay_s: float = 0.0  # before the status line
    chunk_delay_s: float = 0.0  # between streamed chunks


class FakeServer:
    def __init__(self):
        self.routes: dict[str, Callable[[Request], Reply]] = {}
        self.requests: list[Request] = []
        self.released = threading.Event()  # ends every delay at once when the server stops
        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self.httpd.daemon_threads = True
        self.httpd.fake = self
        self.thread = threading.Thread(target=self.httpd.serve_forever, name="fake-http", daemon=True)
        self.thread.start()

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def url(self, path: str) -> str:
        return self.base + path

    def route(self, path: str, answer: Callable[[Request], Reply] | Reply) -> None:
        self.routes[path] = answer if callable(answer) else (lambda request: answer)

    def hits(self, path: str) -> list[Request]:
        return [r for r in list(self.requests) if r.path == path]

    def stop(self) -> None:
        self.released.set()
        self.httpd.shutdown()
        self.httpd.server_close()


def static(body: bytes, *, etag: str | None = None, last_modified: float | None = None,
           content_type: str = "application/json; charset=utf-8") -> Callable[[Request], Reply]:
    """A document that honours conditional requests when given validators."""
    stamp = formatdate(last_modified, usegmt=True) if last_modified is not None else None

    def answer(request: Request) -> Reply:
        headers = {"Content-Type": content_type}
        if etag:
            headers["ETag"] = etag
        if stamp:
            headers["Last-Modified"] = stamp
        if (etag and request.headers.get("if-none-match") == etag) or \
                (stamp and not etag and request.headers.get("if-modified-since") == stamp):
            return Reply(304, b"", headers)
        return Reply(200, body, headers)

    return answer


def sequence(*replies: Reply) -> Callable[[Request], Reply]:
    """Successive replies; the last one repeats."""
    lock, index = threading.Lock(), [0]

    def answer(request: Request) -> Reply:
        with lock:
            reply = replies[min(index[0], len(replies) - 1)]
            index[0] += 1
        return reply

    return answer


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.0"  # one request per connection: a body ends when the socket closes

    def log_message(self, *args) -> None:
        pass

    def do_GET(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def _serve(self) -> None:
        fake: FakeServer = self.server.fake
        parts = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        request = Request(self.command, parts.path, {k: v[0] for k, v in parse_qs(parts.query).items()},
                          parts.query, {k.lower(): v for k, v in self.headers.items()},
                          self.rfile.read(length) if length else b"")
        fake.requests.append(request)
        route = fake.routes.get(parts.path)
        reply = route(request) if route else Reply(404, b"no such route")
        try:
            if reply.delay_s and fake.released.wait(reply.delay_s):
                return
            self.send_response(reply.status)
            for name, value in reply.headers.items():
                self.send_header(name, value)
            if isinstance(reply.body, (bytes, bytearray)):
                self.send_header("Content-Length", str(len(reply.body)))
                self.end_headers()
                self.wfile.write(reply.body)
                return
            self.end_headers()
            for chunk in reply.body:
                if reply.chunk_delay_s and fake.released.wait(reply.chunk_delay_s):
                    return
                self.wfile.write(chunk)
                self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError, ConnectionAbortedError):
            pass  # the poller gave up on us: that is what some tests want


def trickle(data: bytes, every_s: float) -> Reply:
    """Headers at once, then the body one byte at a time."""
    return Reply(200, (data[i:i + 1] for i in range(len(data))), {"Content-Type": "application/json"},
                 chunk_delay_s=every_s)
