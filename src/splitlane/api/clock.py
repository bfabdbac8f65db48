"""One timer for every clock that watches a turn's stream.

A streamed turn is watched from two sides: the client's (a keepalive when nothing was written for
``keepalive_s``: a long prefill, long reasoning) and the upstream's (the idle timeout while the turn
waits for the next event, the total timeout from the request). ``StreamClock`` holds the state of
each and one ``TimerHandle`` armed at the earliest moment one of them could run out. The timer is
re-armed only when it fires, or earlier when a clock that is due sooner starts (the upstream's,
once per stream): a chunk costs an attribute write and an event a clock read, never a timer.

What runs out is handed back: ``ping()`` (the response sends a keepalive; ``False`` when it cannot
now, a ping still being written, and the clock asks again in a millisecond) and ``expire()`` (the
pacer cancels the wait for the upstream). A non-streamed turn's clock has only the upstream side.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable

RETRY_S = 0.001  # a ping still being written: look again this soon


class StreamClock:
    def __init__(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._timer: asyncio.TimerHandle | None = None
        self._at = math.inf  # when the timer fires
        # the client's side: a ping after keepalive_s without a write
        self.keepalive_s = 0.0
        self.last_write = 0.0  # loop time of the last chunk or ping; the response sets it per chunk
        self._ping: Callable[[], bool] | None = None
        # the upstream's side: the idle and total timeouts of the wait for the next event
        self.idle_s = math.inf
        self.deadline = math.inf
        self.waiting_since: float | None = None  # loop time the current wait began; the pacer sets it
        self._expire: Callable[[], None] | None = None

    def time(self) -> float:
        return self._loop.time()

    def keepalive(self, every_s: float, ping: Callable[[], bool]) -> None:
        """Call ``ping`` whenever nothing was written for ``every_s`` (counted from now)."""
        self.keepalive_s = every_s
        self._ping = ping
        self.last_write = self._loop.time()
        self._arm(self.last_write + every_s)

    def pace(self, idle_s: float, deadline: float, expire: Callable[[], None]) -> None:
        """Call ``expire`` when a wait lasts ``idle_s`` or the loop time reaches ``deadline``."""
        self.idle_s = idle_s
        self.deadline = deadline
        self._expire = expire
        self._arm(min(self._loop.time() + idle_s, deadline))

    def unpace(self) -> None:
        """The upstream is read no more (the keepalive side, if any, goes on)."""
        self._expire = None
        self.waiting_since = None

    def close(self) -> None:
        self._ping = None
        self._expire = None
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
            self._at = math.inf

    def _arm(self, at: float) -> None:
        if at >= self._at:
            return  # the timer fires sooner and looks again then
        if self._timer is not None:
            self._timer.cancel()
        self._at = at
        self._timer = self._loop.call_at(at, self._fire)

    def _fire(self) -> None:
        self._timer = None
        self._at = math.inf
        now = self._loop.time()
        after = math.inf
        if self._ping is not None:
            due = self.last_write + self.keepalive_s
            if now >= due:
                if self._ping():
                    self.last_write = now
                    due = now + self.keepalive_s
                else:
                    due = now + RETRY_S
            after = due
        if self._expire is not None:
            since = self.waiting_since
            if since is not None and (now >= since + self.idle_s or now >= self.deadline):
                expire, self._expire = self._expire, None
                expire()
            else:  # a wait that begins later runs out later than this
                after = min(after, (now if since is None else since) + self.idle_s, self.deadline)
        if after < math.inf:
            self._arm(after)
