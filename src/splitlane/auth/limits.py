"""Per-key limits kept in memory: requests per minute, turns in flight, tokens and USD per period.

Counts live in this process (several gateway replicas each enforce their own); token use and
spend are re-read from the telemetry store when a key is first seen, so a restart does not reset a
budget. A turn is admitted while the budget is not yet spent: the turn that crosses it runs to its
end (its cost is known only then), the next is refused.
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
    usd: float = 0.0  # spent in the current budget window (turns of unknown price count nothing)
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
        if key.token_budget is not None or key.usd_budget is not None:
            wall = time.time()
            self._roll(wall)
            retry = self.window + key.budget_period_s - wall
            if key.token_budget is not None and self.tokens >= key.token_budget:
                raise RateLimited(
                    f"key '{key.name}' has used its budget of {key.token_budget:,} tokens for this period",
                    retry_after_s=retry,
                )
            if key.usd_budget is not None and self.usd >= key.usd_budget:
                raise RateLimited(
                    f"key '{key.name}' has spent its budget of ${key.usd_budget:,.2f} for this period "
                    f"(${self.usd:,.4f})",
                    retry_after_s=retry,
                )
        if key.rpm is not None:
            self.recent.append(mono)
        self.streams += 1

    def release(self) -> None:
        self.streams = max(0, self.streams - 1)

    def charge(self, tokens: int, usd: float | None = None) -> None:
        self._roll(time.time())
        self.tokens += tokens
        self.usd += usd or 0.0

    def remaining_usd(self) -> float | None:
        """What is left of the money budget in this window (None: the key has none)."""
        if self.key.usd_budget is None:
            return None
        self._roll(time.time())
        return max(0.0, self.key.usd_budget - self.usd)

    def _roll(self, wall: float) -> None:
        start = self.key.window_start(wall)
        if start != self.window:
            self.window, self.tokens, self.usd = start, 0, 0.0
