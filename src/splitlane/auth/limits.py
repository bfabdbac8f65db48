"""Per-key limits: requests per minute, turns in flight, tokens and USD per budget window.

One contract (``Limits``), two keepers of the counts:

- ``LocalLimits``, here: in this process's memory (one gateway, the SQLite store). Token use and
  spend are re-read from the telemetry store when a key is first admitted, so a restart does not
  reset a budget.
- ``SharedLimits`` (``auth/shared_limits.py``): in PostgreSQL, so that every gateway replica on one
  database counts against the key's one limit (docs/limits.md has the bounds).

A turn is admitted while the budget is not yet spent: the turn that crosses it runs to its end (its
cost is known only then), the next is refused. What refuses, and with which words, is ``refusal``:
the same for both keepers.
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass, field
from typing import Protocol

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from splitlane.auth.keys import ApiKey
from splitlane.core.errors import RateLimited
from splitlane.store.schema import turns

MINUTE = 60.0


@dataclass(frozen=True, slots=True)
class Admission:
    """A turn let in: what its key had left, and what to give back when it ends."""

    key: ApiKey
    remaining_usd: float | None  # of the money budget, as the turn began (None: the key has none)
    lease: str | None = None  # its stream lease in the shared store
    shared: bool = False  # counted in the shared store (False: in this process)


@dataclass(frozen=True, slots=True)
class Counts:
    """A key's counts as an admission reads them."""

    requests: int = 0  # admitted in the last minute
    oldest_s: float = 0.0  # how long ago the oldest of those was
    streams: int = 0  # turns in flight
    tokens: int = 0  # used in the current budget window
    usd: float = 0.0  # spent in it (turns of unknown price count nothing)
    window_left_s: float = 0.0  # until that window ends


def refusal(key: ApiKey, counts: Counts) -> RateLimited | None:
    """Why a new turn of ``key`` is refused now, or None."""
    if key.rpm is not None and counts.requests >= key.rpm:
        return RateLimited(
            f"key '{key.name}' is limited to {key.rpm} requests per minute",
            retry_after_s=max(1.0, MINUTE - counts.oldest_s),
        )
    if key.max_streams is not None and counts.streams >= key.max_streams:
        return RateLimited(
            f"key '{key.name}' may have at most {key.max_streams} request{'s' if key.max_streams > 1 else ''} "
            "in flight; one must end first"
        )
    if key.token_budget is not None and counts.tokens >= key.token_budget:
        return RateLimited(
            f"key '{key.name}' has used its budget of {key.token_budget:,} tokens for this period",
            retry_after_s=counts.window_left_s,
        )
    if key.usd_budget is not None and counts.usd >= key.usd_budget:
        return RateLimited(
            f"key '{key.name}' has spent its budget of ${key.usd_budget:,.2f} for this period (${counts.usd:,.4f})",
            retry_after_s=counts.window_left_s,
        )
    return None


def has_budget(key: ApiKey) -> bool:
    return key.token_budget is not None or key.usd_budget is not None


def remaining_usd(key: ApiKey, spent: float) -> float | None:
    return None if key.usd_budget is None else max(0.0, key.usd_budget - spent)


async def recorded_use(connection: AsyncConnection, key_id: str, since: float) -> tuple[int, float]:
    """The tokens a key used and the USD it spent since ``since``, as the telemetry store has them."""
    query = select(
        func.coalesce(func.sum(turns.c.input_tokens + turns.c.output_tokens), 0),
        func.coalesce(func.sum(turns.c.cost_usd), 0.0),
    ).where(turns.c.api_key == key_id, turns.c.t_recv >= since)
    used, spent = (await connection.execute(query)).one()
    return int(used), float(spent)


class Limits(Protocol):
    async def admit(self, key: ApiKey) -> Admission:
        """Count a new turn of ``key``, or raise ``RateLimited`` saying when to retry."""
        ...

    async def release(self, admission: Admission) -> None:
        """The turn has ended (its whole response sent, or the client gone)."""
        ...

    async def charge(self, key: ApiKey, tokens: int, usd: float | None) -> None:
        """A turn of ``key`` used ``tokens`` and cost ``usd`` (None: unknown price)."""
        ...

    def start(self) -> None: ...

    async def aclose(self) -> None: ...


@dataclass(slots=True)
class KeyUsage:
    """One key's running counts in this process."""

    tokens: int = 0
    usd: float = 0.0
    window: float = 0.0  # the start of the budget window the two above are for
    streams: int = 0
    recent: deque[float] = field(default_factory=deque)  # admission times in the last minute (monotonic)

    def admit(self, key: ApiKey) -> Admission:
        mono, wall = time.monotonic(), time.time()
        while self.recent and mono - self.recent[0] >= MINUTE:
            self.recent.popleft()
        self.roll(key, wall)
        counts = Counts(
            requests=len(self.recent),
            oldest_s=mono - self.recent[0] if self.recent else 0.0,
            streams=self.streams,
            tokens=self.tokens,
            usd=self.usd,
            window_left_s=self.window + key.budget_period_s - wall,
        )
        refused = refusal(key, counts)
        if refused is not None:
            raise refused
        if key.rpm is not None:
            self.recent.append(mono)
        self.streams += 1
        return Admission(key, remaining_usd(key, self.usd))

    def release(self) -> None:
        self.streams = max(0, self.streams - 1)

    def charge(self, key: ApiKey, tokens: int, usd: float | None) -> None:
        self.roll(key, time.time())
        self.tokens += tokens
        self.usd += usd or 0.0

    def roll(self, key: ApiKey, wall: float) -> None:
        start = key.window_start(wall)
        if start != self.window:
            self.window, self.tokens, self.usd = start, 0, 0.0


class LocalLimits:
    """The counts of this process. ``engine``: where a budget's use so far is read back from when a
    key is first admitted (None: budgets start from zero)."""

    def __init__(self, engine: AsyncEngine | None = None) -> None:
        self.engine = engine
        self._usage: dict[str, KeyUsage] = {}

    async def admit(self, key: ApiKey) -> Admission:
        usage = self._usage.get(key.id)
        if usage is None:
            usage = self._usage.setdefault(key.id, await self._first(key))
        return usage.admit(key)

    async def release(self, admission: Admission) -> None:
        self.release_now(admission)

    def release_now(self, admission: Admission) -> None:
        usage = self._usage.get(admission.key.id)
        if usage is not None:
            usage.release()

    async def charge(self, key: ApiKey, tokens: int, usd: float | None) -> None:
        self._usage.setdefault(key.id, KeyUsage()).charge(key, tokens, usd)

    async def _first(self, key: ApiKey) -> KeyUsage:
        usage = KeyUsage()
        if self.engine is not None and has_budget(key):
            window = key.window_start(time.time())
            usage.window = window
            async with self.engine.connect() as connection:
                usage.tokens, usage.usd = await recorded_use(connection, key.id, window)
        return usage

    def start(self) -> None:
        return None

    async def aclose(self) -> None:
        return None
