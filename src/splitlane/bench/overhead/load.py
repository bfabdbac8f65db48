"""The load generator of ``splitlane bench overhead``: streamed requests over kept-alive HTTP/1.1
connections, timed per content chunk.

Written on asyncio's Protocol with httptools' response parser (the C parser uvicorn uses) rather
than an HTTP client library: at 256 concurrent streams the client shares two cores with the servers
it measures, and a per-chunk cost of tens of microseconds in the client would be measured as the
gateway's. Chunks are counted by the upstream's token text, whatever the surface wraps it in.
"""

from __future__ import annotations

import asyncio
import gc
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import pairwise
from typing import cast

import httptools

from splitlane.bench.overhead.upstream import TOKEN

MARK = TOKEN.strip().encode()


@dataclass(frozen=True, slots=True)
class Endpoint:
    """Where and what a target is sent: the request's bytes are built once."""

    host: str
    port: int
    request: bytes

    @classmethod
    def post(cls, url: str, path: str, body: bytes, headers: dict[str, str]) -> Endpoint:
        host, _, port = url.removeprefix("http://").rstrip("/").partition(":")
        lines = [
            f"POST {path} HTTP/1.1",
            f"host: {host}:{port}",
            "content-type: application/json",
            "accept: text/event-stream",
            f"content-length: {len(body)}",
            *(f"{k}: {v}" for k, v in headers.items()),
        ]
        return cls(host, int(port), ("\r\n".join(lines) + "\r\n\r\n").encode() + body)


@dataclass(slots=True)
class Sample:
    """One streamed request: when it was sent, when each content chunk arrived (perf_counter)."""

    sent: float
    chunks: list[float] = field(default_factory=list)
    status: int = 0
    error: str | None = None

    @property
    def ttft(self) -> float | None:
        return self.chunks[0] - self.sent if self.chunks else None

    def gaps(self) -> list[float]:
        return [b - a for a, b in pairwise(self.chunks)]


class _Connection(asyncio.Protocol):
    """One kept-alive connection; one request at a time."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.parser = httptools.HttpResponseParser(self)
        self.sample: Sample | None = None
        self.done: asyncio.Future[None] | None = None
        self.tail = b""
        self.keep_alive = True

    # asyncio.Protocol
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's transports are not subclasses

    def data_received(self, data: bytes) -> None:
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self._end(f"bad HTTP response: {exc}")

    def connection_lost(self, exc: Exception | None) -> None:
        self.transport = None
        self._end("connection closed")

    # httptools callbacks
    def on_headers_complete(self) -> None:
        if self.sample is not None:
            self.sample.status = self.parser.get_status_code()
        self.keep_alive = self.parser.should_keep_alive()

    def on_body(self, body: bytes) -> None:
        if self.sample is None:
            return
        now = time.perf_counter()
        data = self.tail + body
        found = data.count(MARK)
        if found:
            self.sample.chunks.extend([now] * found)
            self.tail = data[data.rfind(MARK) + len(MARK) :][-(len(MARK) - 1) :]
        else:
            self.tail = data[-(len(MARK) - 1) :]

    def on_message_complete(self) -> None:
        self._end(None)

    def _end(self, error: str | None) -> None:
        if self.done is not None and not self.done.done():
            if error is not None and self.sample is not None:
                self.sample.error = error
            self.done.set_result(None)

    async def send(self, request: bytes, timeout_s: float) -> Sample:
        assert self.transport is not None
        self.sample = Sample(time.perf_counter())
        self.tail = b""
        self.done = asyncio.get_running_loop().create_future()
        self.transport.write(request)
        try:
            async with asyncio.timeout(timeout_s):
                await self.done
        except TimeoutError:
            self.sample.error = f"no complete response within {timeout_s} s"
            self.close()
        sample, self.sample = self.sample, None
        if sample.error is None and sample.status != 200:
            sample.error = f"HTTP {sample.status}"
        return sample

    @property
    def open(self) -> bool:
        return self.transport is not None and self.keep_alive

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()
            self.transport = None


async def _connect(endpoint: Endpoint) -> _Connection:
    loop = asyncio.get_running_loop()
    _, protocol = await loop.create_connection(_Connection, endpoint.host, endpoint.port)
    return protocol


async def run_phase(
    endpoints: Sequence[Endpoint],
    concurrency: int,
    duration_s: float,
    warmup_s: float,
    timeout_s: float,
    gap_s: float = 0.0,
    stagger_s: float = 0.0,
) -> tuple[list[Sample], float, float]:
    """``concurrency`` connections sending requests for ``warmup_s + duration_s``, back to back or
    ``gap_s`` apart (an agent's tool time); connection ``i`` sends ``endpoints[i % len(endpoints)]``
    and starts ``i / concurrency × stagger_s`` after the first (0: all at once, and they stay in
    step: every request of a wave arrives together).

    Returns every sample and the measured window (perf_counter): latencies count requests sent
    inside it (``measured``), throughput the chunks that arrived inside it (``chunks_in``).
    Requests in flight at the end finish, within ``timeout_s``.
    """
    # this process's own full collections (15-20 ms once samples pile up) would be measured as
    # every target's latency: the heap alive now is left out of them for the phase
    gc.collect()
    gc.freeze()
    try:
        return await _phase(endpoints, concurrency, duration_s, warmup_s, timeout_s, gap_s, stagger_s)
    finally:
        gc.unfreeze()


async def _phase(
    endpoints: Sequence[Endpoint],
    concurrency: int,
    duration_s: float,
    warmup_s: float,
    timeout_s: float,
    gap_s: float,
    stagger_s: float,
) -> tuple[list[Sample], float, float]:
    mine = [endpoints[i % len(endpoints)] for i in range(concurrency)]
    connections = await asyncio.gather(*(_connect(endpoint) for endpoint in mine))
    start = time.perf_counter()
    window = (start + warmup_s, start + warmup_s + duration_s)
    samples: list[Sample] = []

    async def worker(i: int, connection: _Connection, endpoint: Endpoint) -> None:
        if stagger_s:
            await asyncio.sleep(stagger_s * i / concurrency)
        while time.perf_counter() < window[1]:
            if not connection.open:
                connection = await _connect(endpoint)
            samples.append(await connection.send(endpoint.request, timeout_s))
            if gap_s:
                await asyncio.sleep(gap_s)
        connection.close()

    await asyncio.gather(*(worker(i, c, e) for i, (c, e) in enumerate(zip(connections, mine, strict=True))))
    return samples, window[0], window[1]


def measured(samples: Sequence[Sample], window: tuple[float, float]) -> list[Sample]:
    """The requests sent inside the window (for latencies)."""
    return [s for s in samples if window[0] <= s.sent <= window[1]]


def chunks_in(samples: Sequence[Sample], window: tuple[float, float]) -> int:
    """Content chunks that arrived inside the window (for throughput)."""
    return sum(1 for s in samples for t in s.chunks if window[0] <= t <= window[1])
