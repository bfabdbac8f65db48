"""The upstream hop's HTTP/1.1 client: a pool of kept-alive connections (``upstream/connection.py``:
asyncio transports, httptools' C parser reading the answers) to one origin.

A request goes out at once, its head and body in one ``writelines``, and each body read goes
from ``data_received`` to the reader without a stream buffer in between (why a client of our own:
docs/performance.md, "Where the time went"). What an upstream hop needs and nothing more: POST/GET with a bytes body,
Content-Length or chunked or read-to-close answers, TLS, keep-alive with a pool limit, idle
connections closed after ``keepalive_s``, a connect timeout and an optional timeout per read;
no redirects, cookies, proxies or content decoding (requests say ``accept-encoding: identity``).
"""

from __future__ import annotations

import asyncio
import ssl
import time
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

from splitlane.upstream.connection import BadHeader, ConnectFailed, Connection, ConnectionLost, ConnectTimeout, Response


@dataclass(frozen=True, slots=True)
class Origin:
    scheme: str
    host: str
    port: int
    base_path: str  # prefixed to every request's path ("/v1")

    @classmethod
    def parse(cls, base_url: str) -> Origin:
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"not an http(s) URL: {base_url!r}")
        port = parts.port or (443 if parts.scheme == "https" else 80)
        return cls(parts.scheme, parts.hostname, port, parts.path.rstrip("/"))

    @property
    def host_header(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        default = 443 if self.scheme == "https" else 80
        return host if self.port == default else f"{host}:{self.port}"


# framing the pool writes itself: a caller's own would contradict it (or ask for a compressed body)
OWN_HEADERS = frozenset({"host", "content-length", "transfer-encoding", "connection", "accept-encoding"})


def _header_lines(headers: Mapping[str, str]) -> str:
    lines = []
    for name, value in headers.items():
        if "\r" in name or "\n" in name or ":" in name or "\r" in value or "\n" in value:
            raise BadHeader(f"header {name!r} has a line break or colon in it")  # no header injection
        if name.lower() not in OWN_HEADERS:
            lines.append(f"{name}: {value}\r\n")
    return "".join(lines)


class Pool:
    """Kept-alive connections to one origin: at most ``limit`` in use at once (more requests wait
    for one), idle ones reused last-in-first-out and closed after ``keepalive_s``."""

    def __init__(
        self,
        base_url: str,
        limit: int = 100,
        connect_timeout_s: float | None = None,
        keepalive_s: float = 60.0,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        """``ssl_context`` for https origins: the system's trusted CAs by default (``SSL_CERT_FILE``
        and ``SSL_CERT_DIR`` are honoured)."""
        self.origin = Origin.parse(base_url)
        self.limit = limit
        self.connect_timeout_s = connect_timeout_s
        self.keepalive_s = keepalive_s
        self._idle: list[Connection] = []
        self._all: set[Connection] = set()
        self._slots = asyncio.Semaphore(limit) if limit > 0 else None
        self._ssl: ssl.SSLContext | None = None
        if self.origin.scheme == "https":
            self._ssl = ssl_context or ssl.create_default_context()
        self._head = f"Host: {self.origin.host_header}\r\nAccept-Encoding: identity\r\n"
        self._closed = False

    @property
    def in_use(self) -> int:
        """Connections serving a request now (a leak shows up here)."""
        return sum(1 for c in self._all if c.response is not None)

    async def request(
        self,
        method: str,
        path: str,
        headers: Mapping[str, str],
        body: bytes = b"",
        read_timeout_s: float | None = None,
    ) -> Response:
        """Send the request and wait for the answer's status and headers; the caller reads the body
        and must ``release()`` the response (``finally``)."""
        try:
            head = (
                f"{method} {self.origin.base_path}{path} HTTP/1.1\r\n{self._head}"
                f"{_header_lines(headers)}Content-Length: {len(body)}\r\n\r\n"
            ).encode("latin-1")
        except UnicodeEncodeError as exc:
            raise BadHeader(f"a header is not Latin-1 text: {exc.object[exc.start : exc.end]!r}") from None
        if self._slots is not None:
            await self._slots.acquire()
        try:
            for attempt in (1, 2):
                connection = self._reuse() or await self._connect()
                response = Response(connection, read_timeout_s)
                connection.send(head, body, response)
                try:
                    await response.start()
                except ConnectionLost:
                    response.release()
                    # a kept-alive connection the upstream had closed as we sent: once more, on a new one
                    if attempt == 1 and connection.used and not response.received_any:
                        continue
                    raise
                except BaseException:
                    response.release()
                    raise
                response.slot = self._slots
                return response
        except BaseException:
            if self._slots is not None:
                self._slots.release()
            raise
        raise AssertionError("unreachable")

    async def prewarm(self, count: int) -> None:
        """Open ``count`` connections now and keep them idle (a benchmark's connect time is not
        its first request's)."""
        for connection in await asyncio.gather(*(self._connect() for _ in range(count))):
            self.put_back(connection)

    def _reuse(self) -> Connection | None:
        now = time.monotonic()
        while self._idle:
            connection = self._idle.pop()
            if connection.transport is not None and now - connection.idle_since < self.keepalive_s:
                return connection
            connection.close()
            self._all.discard(connection)
        return None

    async def _connect(self) -> Connection:
        if self._closed:
            raise ConnectFailed("the connection pool is closed")
        loop = asyncio.get_running_loop()
        origin = self.origin
        try:
            async with asyncio.timeout(self.connect_timeout_s):
                _, protocol = await loop.create_connection(
                    lambda: Connection(self),
                    origin.host,
                    origin.port,
                    ssl=self._ssl,
                    server_hostname=origin.host if self._ssl is not None else None,
                )
        except TimeoutError:
            limit = "" if self.connect_timeout_s is None else f" within {self.connect_timeout_s:g} s"
            raise ConnectTimeout(f"no connection to {origin.host}:{origin.port}{limit}") from None
        except OSError as exc:
            raise ConnectFailed(f"cannot connect to {origin.host}:{origin.port}: {exc}") from exc
        self._all.add(protocol)
        return protocol

    def put_back(self, connection: Connection) -> None:
        if self._closed:
            connection.close()
            return
        connection.idle_since = time.monotonic()
        self._idle.append(connection)

    def forget(self, connection: Connection) -> None:
        if connection.transport is None or connection.transport.is_closing():
            self._all.discard(connection)
            if connection in self._idle:
                self._idle.remove(connection)

    async def aclose(self) -> None:
        self._closed = True
        for connection in list(self._all):
            connection.close()
        self._idle.clear()
        self._all.clear()
