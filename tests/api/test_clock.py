"""The turn's one clock: keepalives and the upstream's idle/total timeouts on one timer, in real asyncio."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncGenerator

import pytest

from splitlane.api.clock import StreamClock
from splitlane.api.pacing import Pacer
from splitlane.core.errors import UpstreamTimeout


async def _silent(delay_s: float) -> AsyncGenerator[int, None]:
    await asyncio.sleep(delay_s)
    yield 0


def _timers(loop: asyncio.AbstractEventLoop) -> int:
    return sum(1 for h in loop._scheduled if not h.cancelled() and "StreamClock" in repr(h))  # type: ignore[attr-defined]


def test_pings_go_on_while_the_upstream_is_waited_for_until_its_idle_clock_runs_out() -> None:
    async def run() -> tuple[int, str, int]:
        loop = asyncio.get_running_loop()
        clock = StreamClock()
        pings: list[float] = []
        clock.keepalive(0.05, lambda: pings.append(loop.time()) is None)
        pacer = Pacer(_silent(5.0), "up", idle_s=0.32, total_s=5.0, started=time.monotonic(), clock=clock)
        task = loop.create_task(pacer.next())
        await asyncio.sleep(0.1)
        timers = _timers(loop)  # both sides armed: still one timer
        with pytest.raises(UpstreamTimeout) as caught:
            await task
        pacer.close()
        seen = len(pings)
        await asyncio.sleep(0.12)  # the pacer is done; the keepalive side goes on
        assert len(pings) > seen
        clock.close()
        return seen, caught.value.message, timers

    seen, message, timers = asyncio.run(run())
    assert message == "upstream 'up' sent nothing for 0.32 s"
    assert 3 <= seen <= 6  # every 0.05 s of a 0.32 s wait (fewer only on a stalled machine)
    assert timers == 1


def test_an_idle_clock_shorter_than_the_keepalive_rearms_the_timer_sooner() -> None:
    async def run() -> float:
        clock = StreamClock()
        clock.keepalive(30.0, lambda: True)  # the timer is armed 30 s out
        pacer = Pacer(_silent(5.0), "up", idle_s=0.05, total_s=5.0, started=time.monotonic(), clock=clock)
        began = time.monotonic()
        with pytest.raises(UpstreamTimeout):
            await pacer.next()
        pacer.close()
        clock.close()
        return time.monotonic() - began

    assert asyncio.run(run()) < 2.0  # not the keepalive's 30 s


def test_a_ping_still_being_written_is_asked_again_soon_not_a_whole_interval_later() -> None:
    async def run() -> list[float]:
        loop = asyncio.get_running_loop()
        clock = StreamClock()
        asked: list[float] = []

        def ping() -> bool:
            asked.append(loop.time())
            return len(asked) > 2  # busy twice, then sent

        clock.keepalive(0.2, ping)
        await asyncio.sleep(0.3)
        clock.close()
        return [t - asked[0] for t in asked]

    asked = asyncio.run(run())
    assert len(asked) == 3
    assert asked[2] < 0.1  # retried within milliseconds, not after another 0.2 s


def test_writes_push_the_keepalive_back() -> None:
    async def run() -> int:
        loop = asyncio.get_running_loop()
        clock = StreamClock()
        pings: list[float] = []
        clock.keepalive(0.1, lambda: pings.append(0.0) is None)
        for _ in range(10):  # a chunk every 0.03 s for 0.3 s
            await asyncio.sleep(0.03)
            clock.last_write = loop.time()
        clock.close()
        return len(pings)

    assert asyncio.run(run()) == 0


def test_a_closed_clock_leaves_no_timer() -> None:
    async def run() -> int:
        loop = asyncio.get_running_loop()
        clock = StreamClock()
        clock.keepalive(0.05, lambda: True)
        clock.pace(0.05, loop.time() + 1.0, lambda: None)
        clock.close()
        return _timers(loop)

    assert asyncio.run(run()) == 0
