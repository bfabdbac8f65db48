"""One HTTP/1.1 exchange at a time on one kept-alive connection: the asyncio protocol that writes a
request and feeds httptools' C parser (the one uvicorn uses), and the ``Response`` its caller
reads. The pool that lends connections out is ``upstream/pool.py``.

Failures raise ``HttpError`` subclasses (``ReadTimeout`` is a ``TimeoutError``); the caller maps
them to ``core.errors``.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator
from typing import Protocol, cast

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


class Owner(Protocol):
    """What a connection tells the pool it came from."""

    def put_back(self, connection: Connection) -> None: ...

    def forget(self, connection: Connection) -> None: ...


class Response:
    """One answer: its status and headers once they arrived, then its body as it arrives."""

    def __init__(self, connection: Connection, read_timeout_s: float | None) -> None:
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
        self.slot: asyncio.Semaphore | None = None  # the pool's, given back on release

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
        if self.slot is not None:
            self.slot.release()


class Connection(asyncio.Protocol):
    def __init__(self, pool: Owner) -> None:
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
        self.pool.forget(self)
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
            self.pool.put_back(self)
        else:
            self.close()
            self.pool.forget(self)

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()
