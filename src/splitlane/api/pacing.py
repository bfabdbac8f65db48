"""Reading an upstream's events under the turn's clocks: the idle timeout (the longest the turn
waits for the next event) and the total timeout (first request byte to the end).

The clocks run on the turn's ``StreamClock`` (api/clock.py), the one timer that also paces the
stream's keepalives: an event costs one clock read, not a timer (an ``asyncio.timeout`` per event)
or a task. When a clock runs out while the turn waits for the upstream, the wait is cancelled and
becomes ``UpstreamTimeout``; time spent sending to a slow client never counts against the upstream.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncGenerator
from typing import Any

from splitlane.api.clock import StreamClock
from splitlane.core.errors import UpstreamTimeout


class Pacer:
    def __init__(
        self,
        events: AsyncGenerator[Any, None],
        upstream: str,
        idle_s: float,
        total_s: float,
        started: float,
        clock: StreamClock | None = None,
    ) -> None:
        """``started`` is when the upstream request was sent (``time.monotonic()``); ``clock`` the
        turn's (a streamed turn's also sends its keepalives), else one of its own."""
        self.events = events
        self.upstream = upstream
        self.idle_s = idle_s
        self.total_s = total_s
        self.clock = clock if clock is not None else StreamClock()
        self._own = clock is None
        self.deadline = self.clock.time() + total_s - (time.monotonic() - started)
        self._task: asyncio.Task[Any] | None = None
        self._expired = False

    async def next(self) -> Any:
        """The next event, or None at the end; raises ``UpstreamTimeout``."""
        clock = self.clock
        now = clock.time()
        if now >= self.deadline:
            raise self._timeout()
        clock.waiting_since = now
        if self._task is None:
            self._task = asyncio.current_task()
            clock.pace(self.idle_s, self.deadline, self._expire)
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
            clock.waiting_since = None

    def _expire(self) -> None:
        assert self._task is not None
        self._expired = True
        self._task.cancel()

    def _timeout(self) -> UpstreamTimeout:
        if self.clock.time() >= self.deadline:
            return UpstreamTimeout(f"upstream '{self.upstream}' did not finish within {self.total_s:g} s")
        return UpstreamTimeout(f"upstream '{self.upstream}' sent nothing for {self.idle_s:g} s")

    def close(self) -> None:
        if self._own:
            self.clock.close()
        else:
            self.clock.unpace()
