"""The upstream hop's HTTP/1.1 client: pooled keep-alive connections on asyncio transports, with
httptools' C parser (the one uvicorn uses) reading the answers.

Why not aiohttp, which this replaced: on the gateway's way in, timestamps at 64 concurrent paced
streams (``splitlane bench overhead``) put ~0.36 ms between calling ``ClientSession.post`` and the
request's bytes reaching the socket — ~0.1 ms building the request (URL, cookies, headers,
tracing), and on Python < 3.12 the body written by a task of its own that waits behind every
other ready callback on a loaded loop. Here a request goes out at once, its head and body in one
``writelines``, and each body read goes from ``data_received`` to the reader without a stream
buffer in between. What an upstream hop needs and nothing more: POST/GET with a bytes body,
Content-Length or chunked or read-to-close answers, TLS, keep-alive with a pool limit, idle
connections closed after ``keepalive_s``, a connect timeout and an optional timeout per read;
no redirects, cookies, proxies or content decoding (requests say ``accept-encoding: identity``).

Failures raise ``HttpError`` subclasses (``ReadTimeout`` is a ``TimeoutError``); the caller maps
them to ``core.errors``.
"""

from __future__ import annotations

import asyncio
import ssl
import time
from collections import deque
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import cast
from urllib.parse import urlsplit

import httptools

PAUSE_AT = 4 * 2**20  # bytes of body buffered, unread, before the socket is paused


class HttpError(Exception):
    """The HTTP exchange failed below the level of a status code."""


class ConnectFailed(HttpError):
    pass


class ConnectionLost(HttpError):
    pass


class BadResponse(HttpError):
    pass


class ReadTimeout(HttpError, TimeoutError):
    pass


class ConnectTimeout(ConnectFailed, TimeoutError):
    pass


class BadHeader(HttpError, ValueError):
    """A header that would break the request apart (a line break in it)."""


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


class Response:
    """One answer: its status and headers once they arrived, then its body as it arrives."""

    def __init__(self, connection: _Connection, read_timeout_s: float | None) -> None:
        self._connection = connection
        self.read_timeout_s = read_timeout_s
        self.status = 0
        self.headers: dict[str, str] = {}
        self._chunks: deque[bytes] = deque()
        self._buffered = 0
        self._complete = False
        self._error: HttpError | None = None
        self._waiter: asyncio.Future[None] | None = None
        self._headers_done = False
        self._released = False
        self.received_any = False  # a byte of the answer arrived (a reused connection that got none can be retried)
        self._slot: asyncio.Semaphore | None = None  # the pool's, given back on release

    # fed by the connection
    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def _feed(self, data: bytes) -> None:
        self._chunks.append(data)
        self._buffered += len(data)
        if self._buffered > PAUSE_AT:
            self._connection.pause()
        self._wake()

    def _fail(self, error: HttpError) -> None:
        if not self._complete and self._error is None:
            self._error = error
            self._wake()

    # read by the caller
    async def _wait(self) -> None:
        self._waiter = asyncio.get_running_loop().create_future()
        try:
            if self.read_timeout_s is None:
                await self._waiter
            else:
                try:
                    async with asyncio.timeout(self.read_timeout_s):
                        await self._waiter
                except TimeoutError:
                    raise ReadTimeout(f"nothing read for {self.read_timeout_s:g} s") from None
        finally:
            self._waiter = None

    async def start(self) -> None:
        while not self._headers_done:
            if self._error is not None:
                raise self._error
            await self._wait()

    async def chunks(self) -> AsyncIterator[bytes]:
        """The body as it arrives: each item is all that arrived since the last one (under load,
        several network reads in one item: one wake-up and one parse for all of them)."""
        while True:
            chunks = self._chunks
            if chunks:
                data = chunks.popleft() if len(chunks) == 1 else b"".join(chunks)
                chunks.clear()
                self._buffered = 0
                self._connection.resume()
                yield data
                continue
            if self._complete:
                return
            if self._error is not None:
                raise self._error
            await self._wait()

    async def read(self) -> bytes:
        return b"".join([data async for data in self.chunks()])

    @property
    def complete(self) -> bool:
        return self._complete and not self._chunks

    def release(self) -> None:
        """Back to the pool when the answer was read to its end on a kept-alive connection; closed otherwise."""
        if self._released:
            return
        self._released = True
        self._connection.finished(self, reusable=self.complete and self._error is None)
        if self._slot is not None:
            self._slot.release()


class _Connection(asyncio.Protocol):
    def __init__(self, pool: Pool) -> None:
        self.pool = pool
        self.transport: asyncio.Transport | None = None
        self.parser = httptools.HttpResponseParser(self)
        self.response: Response | None = None
        self.keep_alive = True
        self.idle_since = 0.0
        self.used = False  # has served a request before this one
        self._paused = False
        self._to_close = False  # no length and not chunked: the body ends when the connection does
        self._informational = False  # inside a 1xx answer

    # asyncio.Protocol
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        response = self.response
        if response is None or response._complete:  # bytes nobody asked for: the connection can't be trusted
            self.close()
            return
        response.received_any = True
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            response._fail(BadResponse("the upstream switched protocols"))
            self.close()
        except httptools.HttpParserError as exc:
            response._fail(BadResponse(f"unreadable HTTP response: {exc}"))
            self.close()

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None
        self.pool._forget(self)
        response = self.response
        if response is None:
            return
        if self._to_close and response._headers_done and not response._complete:
            response._complete = True  # a read-to-close body has ended
            response._wake()
            return
        response._fail(ConnectionLost(f"the upstream closed the connection ({exc or 'EOF'})"))

    # httptools' callbacks
    def on_header(self, name: bytes, value: bytes) -> None:
        assert self.response is not None
        key = name.decode("latin-1").lower()
        text = value.decode("latin-1")
        headers = self.response.headers
        headers[key] = f"{headers[key]}, {text}" if key in headers else text

    def on_headers_complete(self) -> None:
        response = self.response
        assert response is not None
        status = self.parser.get_status_code()
        if status < 200:  # an informational answer (103 Early Hints): the real one follows
            self._informational = True
            response.headers = {}
            return
        response.status = status
        self.keep_alive = self.parser.should_keep_alive()
        headers = response.headers
        self._to_close = "content-length" not in headers and "chunked" not in headers.get("transfer-encoding", "")
        response._headers_done = True
        response._wake()

    def on_body(self, body: bytes) -> None:
        assert self.response is not None
        self.response._feed(body)

    def on_message_complete(self) -> None:
        response = self.response
        assert response is not None
        if self._informational:
            self._informational = False
            return
        response._complete = True
        response._wake()

    # flow control and life
    def pause(self) -> None:
        if not self._paused and self.transport is not None:
            self._paused = True
            self.transport.pause_reading()

    def resume(self) -> None:
        if self._paused and self.transport is not None:
            self._paused = False
            self.transport.resume_reading()

    def send(self, head: bytes, body: bytes, response: Response) -> None:
        assert self.transport is not None
        self.response = response
        if body:
            self.transport.writelines((head, body))  # no copy of a large body into one buffer
        else:
            self.transport.write(head)

    def finished(self, response: Response, reusable: bool) -> None:
        if response is not self.response:
            return
        self.response = None
        if reusable and self.keep_alive and self.transport is not None and not self.transport.is_closing():
            self.used = True
            self.parser = httptools.HttpResponseParser(self)
            self.pool._put_back(self)
        else:
            self.close()
            self.pool._forget(self)

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()


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
        self._idle: list[_Connection] = []
        self._all: set[_Connection] = set()
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
                response._slot = self._slots
                return response
        except BaseException:
            if self._slots is not None:
                self._slots.release()
            raise
        raise AssertionError("unreachable")

    def _reuse(self) -> _Connection | None:
        now = time.monotonic()
        while self._idle:
            connection = self._idle.pop()
            if connection.transport is not None and now - connection.idle_since < self.keepalive_s:
                return connection
            connection.close()
            self._all.discard(connection)
        return None

    async def _connect(self) -> _Connection:
        if self._closed:
            raise ConnectFailed("the connection pool is closed")
        loop = asyncio.get_running_loop()
        origin = self.origin
        try:
            async with asyncio.timeout(self.connect_timeout_s):
                _, protocol = await loop.create_connection(
                    lambda: _Connection(self),
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

    def _put_back(self, connection: _Connection) -> None:
        if self._closed:
            connection.close()
            return
        connection.idle_since = time.monotonic()
        self._idle.append(connection)

    def _forget(self, connection: _Connection) -> None:
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
