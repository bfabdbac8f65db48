"""Reading an upstream's events under the turn's clocks: the idle timeout (the longest the turn
waits for the next event) and the total timeout (first request byte to the end).

One timer per stream, armed at the earliest moment a clock could run out and re-armed only when
it fires: an event costs one clock read, not a timer (an ``asyncio.timeout`` per event) or a task.
When a clock runs out while the turn waits for the upstream, the wait is cancelled and becomes
``UpstreamTimeout``; time spent sending to a slow client never counts against the upstream.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncGenerator
from typing import Any

from splitlane.core.errors import UpstreamTimeout


class Pacer:
    def __init__(
        self, events: AsyncGenerator[Any, None], upstream: str, idle_s: float, total_s: float, started: float
    ) -> None:
        """``started`` is when the upstream request was sent (``time.monotonic()``)."""
        self.events = events
        self.upstream = upstream
        self.idle_s = idle_s
        self.total_s = total_s
        self._loop = asyncio.get_running_loop()
        self.deadline = self._loop.time() + total_s - (time.monotonic() - started)
        self._waiting_since: float | None = None
        self._task: asyncio.Task[Any] | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._expired = False

    async def next(self) -> Any:
        """The next event, or None at the end; raises ``UpstreamTimeout``."""
        now = self._loop.time()
        if now >= self.deadline:
            raise self._timeout()
        self._waiting_since = now
        if self._timer is None:
            self._task = asyncio.current_task()
            self._timer = self._loop.call_at(min(now + self.idle_s, self.deadline), self._check)
        try:
            return await anext(self.events, None)
        except asyncio.CancelledError:
            if self._expired:
                self._expired = False
                assert self._task is not None
                if self._task.uncancel() == 0:  # our cancellation, and nobody else's
                    raise self._timeout() from None
            raise
        finally:
            self._waiting_since = None

    def _check(self) -> None:
        now = self._loop.time()
        since = self._waiting_since
        if since is not None and (now >= since + self.idle_s or now >= self.deadline):
            assert self._task is not None
            self._timer = None
            self._expired = True
            self._task.cancel()
            return
        start = now if since is None else since
        self._timer = self._loop.call_at(min(start + self.idle_s, self.deadline), self._check)

    def _timeout(self) -> UpstreamTimeout:
        if self._loop.time() >= self.deadline:
            return UpstreamTimeout(f"upstream '{self.upstream}' did not finish within {self.total_s:g} s")
        return UpstreamTimeout(f"upstream '{self.upstream}' sent nothing for {self.idle_s:g} s")

    def close(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
