"""Per-key limits kept in memory: requests per minute, turns in flight, tokens per period.

Counts live in this process (several gateway replicas each enforce their own); token use is
re-read from the telemetry store when a key is first seen, so a restart does not reset a budget.
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass, field

from splitlane.auth.keys import ApiKey
from splitlane.core.errors import RateLimited


@dataclass(slots=True)
class KeyUsage:
    """One key's running counts."""

    key: ApiKey
    tokens: int = 0  # used in the current budget window
    window: float = 0.0  # the start of that window
    streams: int = 0  # turns in flight
    recent: deque[float] = field(default_factory=deque)  # request times in the last minute (monotonic)

    def admit(self) -> None:
        """Count a new turn, or raise ``RateLimited`` saying when to retry."""
        key = self.key
        mono = time.monotonic()
        if key.rpm is not None:
            while self.recent and mono - self.recent[0] >= 60.0:
                self.recent.popleft()
            if len(self.recent) >= key.rpm:
                wait = 60.0 - (mono - self.recent[0])
                raise RateLimited(
                    f"key '{key.name}' is limited to {key.rpm} requests per minute", retry_after_s=max(1.0, wait)
                )
        if key.max_streams is not None and self.streams >= key.max_streams:
            raise RateLimited(
                f"key '{key.name}' may have at most {key.max_streams} request{'s' if key.max_streams > 1 else ''} "
                "in flight; one must end first"
            )
        if key.token_budget is not None:
            wall = time.time()
            self._roll(wall)
            if self.tokens >= key.token_budget:
                raise RateLimited(
                    f"key '{key.name}' has used its budget of {key.token_budget:,} tokens for this period",
                    retry_after_s=self.window + key.budget_period_s - wall,
                )
        if key.rpm is not None:
            self.recent.append(mono)
        self.streams += 1

    def release(self) -> None:
        self.streams = max(0, self.streams - 1)

    def charge(self, tokens: int) -> None:
        self._roll(time.time())
        self.tokens += tokens

    def _roll(self, wall: float) -> None:
        start = self.key.window_start(wall)
        if start != self.window:
            self.window, self.tokens = start, 0
