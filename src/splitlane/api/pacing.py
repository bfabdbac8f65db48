"""Reading an upstream's events under the turn's clocks: the idle timeout (longest silence between
two events), the total timeout (first request byte to the end), and keepalive pings for the client
when the upstream is silent longer than ``keepalive_s`` (long reasoning, a long prefill).

The next event is awaited in a task of its own, so that a ping or a timeout never cancels the
upstream's generator in the middle of a read; ``aclose`` cancels and awaits that task, so none leaks.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncGenerator
from contextlib import suppress
from typing import Any, Final

from splitlane.core.errors import UpstreamTimeout


class _Ping:
    """What ``Pacer.next`` returns when the client should get a keepalive now."""


PING: Final = _Ping()


async def settle(task: asyncio.Future[Any]) -> None:
    """Cancel a task (if it still runs) and wait until it has ended, whatever it raised."""
    if not task.done():
        task.cancel()
    with suppress(BaseException):
        await task


async def finished_within(awaitable: asyncio.Future[Any], seconds: float) -> bool:
    """True when ``awaitable`` finished within ``seconds`` (0: no limit); it keeps running otherwise."""
    done, _ = await asyncio.wait((awaitable,), timeout=seconds if seconds > 0 else None)
    return bool(done)


class Pacer:
    def __init__(
        self,
        events: AsyncGenerator[Any, None],
        upstream: str,
        idle_s: float,
        total_s: float,
        keepalive_s: float,
        started: float,
    ) -> None:
        self.events = events
        self.upstream = upstream
        self.idle_s = idle_s
        self.total_s = total_s
        self.keepalive_s = keepalive_s
        self.deadline = started + total_s
        self.last = time.monotonic()
        self._pending: asyncio.Future[Any] | None = None

    async def next(self) -> Any:
        """The next event, None at the end, or ``PING``; raises ``UpstreamTimeout``."""
        if self.keepalive_s <= 0:  # nothing to send while waiting: a timeout may cancel the read
            return await self._next_or_timeout()
        if self._pending is None:
            self._pending = asyncio.get_running_loop().create_task(_anext(self.events))
        now = time.monotonic()
        idle_end = self.last + self.idle_s
        wake = min(idle_end, self.deadline, now + self.keepalive_s)
        if await finished_within(self._pending, max(wake - now, 0.0) or 1e-6):
            pending, self._pending = self._pending, None
            self.last = time.monotonic()
            return pending.result()
        if time.monotonic() >= min(idle_end, self.deadline):
            await self.aclose()
            raise self._timeout(idle_end)
        return PING

    async def _next_or_timeout(self) -> Any:
        idle_end = time.monotonic() + self.idle_s
        try:
            async with asyncio.timeout(min(idle_end, self.deadline) - time.monotonic()):
                event = await anext(self.events, None)
        except TimeoutError:
            raise self._timeout(idle_end) from None
        self.last = time.monotonic()
        return event

    def _timeout(self, idle_end: float) -> UpstreamTimeout:
        if time.monotonic() >= self.deadline or self.deadline <= idle_end:
            return UpstreamTimeout(f"upstream '{self.upstream}' did not finish within {self.total_s:g} s")
        return UpstreamTimeout(f"upstream '{self.upstream}' sent nothing for {self.idle_s:g} s")

    async def aclose(self) -> None:
        if self._pending is not None:
            pending, self._pending = self._pending, None
            await settle(pending)


async def _anext(events: AsyncGenerator[Any, None]) -> Any:
    return await anext(events, None)
