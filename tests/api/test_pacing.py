"""The turn's upstream clocks (idle and total timeouts) on a scripted event source, in real asyncio."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncGenerator

import pytest

from splitlane.api.pacing import Pacer
from splitlane.core.errors import UpstreamTimeout


async def _events(delays: list[float], closed: list[bool]) -> AsyncGenerator[int, None]:
    try:
        for i, delay in enumerate(delays):
            await asyncio.sleep(delay)
            yield i
    finally:
        closed.append(True)


async def _drain(pacer: Pacer, between_s: float = 0.0) -> list[int]:
    seen: list[int] = []
    try:
        while (event := await pacer.next()) is not None:
            seen.append(event)
            await asyncio.sleep(between_s)  # the turn writing to a slow client
    finally:
        pacer.close()
    return seen


def test_events_within_the_clocks_pass() -> None:
    async def run() -> list[int]:
        closed: list[bool] = []
        pacer = Pacer(_events([0.01] * 20, closed), "up", idle_s=0.2, total_s=5.0, started=time.monotonic())
        return await _drain(pacer)

    assert asyncio.run(run()) == list(range(20))


def test_a_silence_longer_than_idle_times_out_and_cancels_the_read() -> None:
    async def run() -> tuple[str, list[bool]]:
        closed: list[bool] = []
        events = _events([0.0, 0.0, 0.5, 0.0], closed)
        pacer = Pacer(events, "up", idle_s=0.1, total_s=5.0, started=time.monotonic())
        with pytest.raises(UpstreamTimeout) as caught:
            await _drain(pacer)
        await events.aclose()
        return caught.value.message, closed

    message, closed = asyncio.run(run())
    assert message == "upstream 'up' sent nothing for 0.1 s"
    assert closed == [True]


def test_time_spent_sending_to_the_client_is_not_upstream_silence() -> None:
    async def run() -> list[int]:
        closed: list[bool] = []
        pacer = Pacer(_events([0.0] * 4, closed), "up", idle_s=0.1, total_s=5.0, started=time.monotonic())
        return await _drain(pacer, between_s=0.25)

    assert asyncio.run(run()) == [0, 1, 2, 3]


def test_the_total_clock_counts_from_the_request_and_ends_a_stream_that_never_stops() -> None:
    async def run() -> tuple[int, str]:
        closed: list[bool] = []
        started = time.monotonic() - 0.2  # the request went out 0.2 s before the first event
        pacer = Pacer(_events([0.02] * 1000, closed), "up", idle_s=1.0, total_s=0.5, started=started)
        count = 0
        try:
            while await pacer.next() is not None:
                count += 1
        except UpstreamTimeout as exc:
            return count, exc.message
        finally:
            pacer.close()
        raise AssertionError("no timeout")

    count, message = asyncio.run(run())
    assert message == "upstream 'up' did not finish within 0.5 s"
    # 0.3 s were left when the pacer started and events come at most every 0.02 s: at most 15
    # (a clock started at the pacer would allow 25; a busy machine only makes fewer)
    assert 0 < count <= 15


def test_a_cancellation_from_outside_stays_a_cancellation() -> None:
    async def run() -> None:
        closed: list[bool] = []
        pacer = Pacer(_events([10.0], closed), "up", idle_s=0.05, total_s=5.0, started=time.monotonic())
        task = asyncio.get_running_loop().create_task(pacer.next())
        await asyncio.sleep(0.01)
        task.cancel()  # e.g. the client left just before the idle clock would have run out
        await asyncio.sleep(0.1)
        assert task.cancelled()
        pacer.close()

    asyncio.run(run())
