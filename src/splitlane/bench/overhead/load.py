"""The load generator of ``splitlane bench overhead`` (and ``bench load``): streamed requests over
kept-alive HTTP/1.1 connections, timed per content chunk.

The requests go out on the gateway's own HTTP client (``upstream/pool.py``: asyncio protocols
feeding httptools' C parser, the one uvicorn uses), one pool of one kept-alive connection per
simulated client, opened before the clock starts. No general-purpose client library: at 256
concurrent streams the client shares two cores with the servers it measures, and a per-chunk cost
of tens of microseconds in the client would be measured as the gateway's. Chunks are counted by the
upstream's token text, whatever the surface wraps it in, and timed when the client's task reads
them (every target is read the same way, ``direct`` included).
"""

from __future__ import annotations

import asyncio
import gc
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from itertools import pairwise

from splitlane.bench.overhead.upstream import TOKEN
from splitlane.upstream.connection import HttpError
from splitlane.upstream.pool import Pool

MARK = TOKEN.strip().encode()


@dataclass(frozen=True, slots=True)
class Endpoint:
    """Where and what a target is sent."""

    url: str  # scheme://host:port
    path: str
    body: bytes
    headers: Mapping[str, str]

    @classmethod
    def post(cls, url: str, path: str, body: bytes, headers: dict[str, str]) -> Endpoint:
        framing = {"content-type": "application/json", "accept": "text/event-stream"}
        return cls(url.rstrip("/"), path, body, {**framing, **headers})


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


class Marks:
    """Counts the token marks of a body read piece by piece (a mark may be cut between two reads)."""

    def __init__(self, sample: Sample) -> None:
        self.sample = sample
        self.tail = b""

    def feed(self, body: bytes, now: float) -> None:
        data = self.tail + body
        found = data.count(MARK)
        if found:
            self.sample.chunks.extend([now] * found)
            self.tail = data[data.rfind(MARK) + len(MARK) :][-(len(MARK) - 1) :]
        else:
            self.tail = data[-(len(MARK) - 1) :]


async def send(pool: Pool, endpoint: Endpoint, timeout_s: float) -> Sample:
    """One streamed request on ``pool``, read to its end within ``timeout_s``."""
    sample = Sample(time.perf_counter())
    marks = Marks(sample)
    try:
        async with asyncio.timeout(timeout_s):
            response = await pool.request("POST", endpoint.path, endpoint.headers, endpoint.body)
            try:
                sample.status = response.status
                async for data in response.chunks():
                    marks.feed(data, time.perf_counter())
            finally:
                response.release()
    except TimeoutError:
        sample.error = f"no complete response within {timeout_s} s"
    except HttpError as exc:
        sample.error = str(exc)
    if sample.error is None and sample.status != 200:
        sample.error = f"HTTP {sample.status}"
    return sample


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
    pools = [Pool(endpoint.url, limit=1) for endpoint in mine]  # one client, one kept-alive connection
    try:
        await asyncio.gather(*(pool.prewarm(1) for pool in pools))
        start = time.perf_counter()
        window = (start + warmup_s, start + warmup_s + duration_s)
        samples: list[Sample] = []

        async def worker(i: int, pool: Pool, endpoint: Endpoint) -> None:
            if stagger_s:
                await asyncio.sleep(stagger_s * i / concurrency)
            while time.perf_counter() < window[1]:
                samples.append(await send(pool, endpoint, timeout_s))
                if gap_s:
                    await asyncio.sleep(gap_s)

        await asyncio.gather(*(worker(i, p, e) for i, (p, e) in enumerate(zip(pools, mine, strict=True))))
        return samples, window[0], window[1]
    finally:
        await asyncio.gather(*(pool.aclose() for pool in pools))


def measured(samples: Sequence[Sample], window: tuple[float, float]) -> list[Sample]:
    """The requests sent inside the window (for latencies)."""
    return [s for s in samples if window[0] <= s.sent <= window[1]]


def chunks_in(samples: Sequence[Sample], window: tuple[float, float]) -> int:
    """Content chunks that arrived inside the window (for throughput)."""
    return sum(1 for s in samples for t in s.chunks if window[0] <= t <= window[1])
