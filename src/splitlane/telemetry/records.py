"""One turn's telemetry record, as stored (no message content: sizes and hashes only)."""

from __future__ import annotations

import time
from dataclasses import dataclass, fields
from typing import Any

from splitlane.telemetry.metrics import TurnTimes


@dataclass(frozen=True, slots=True)
class Clock:
    """The gateway's monotonic clock, expressed as seconds since the epoch: differences are
    monotonic (DESIGN.md's definitions), absolute values are comparable across restarts."""

    wall0: float
    mono0: float

    @classmethod
    def start(cls) -> Clock:
        return cls(time.time(), time.monotonic())

    def now(self) -> float:
        return self.at(time.monotonic())

    def at(self, monotonic: float) -> float:
        """A ``time.monotonic()`` reading on this clock."""
        return self.wall0 + (monotonic - self.mono0)


@dataclass(frozen=True, slots=True)
class TurnRecord:
    id: str
    session: str
    session_source: str
    client: str
    surface: str
    model: str
    lane: str
    lane_reason: str
    upstream: str
    replica: str
    fallbacks: int
    stream: bool
    status: str  # ok | error | cancelled
    error: str | None
    stop_reason: str | None
    t_recv: float
    t_up: float | None
    t_first: float | None
    t_last: float
    gap_before_s: float | None
    input_tokens: int
    cached_input_tokens: int
    output_tokens: int
    reasoning_tokens: int
    tool_calls: int
    messages: int
    prompt_chars: int
    prompt_hash: str
    queue_wait_s: float | None = None
    prefill_s: float | None = None
    drafted_tokens: int | None = None
    accepted_tokens: int | None = None
    api_key: str | None = None  # the gateway key's id
    cache_write_tokens: int = 0  # prompt tokens written to the provider's cache (a part of input_tokens)
    cache_write_1h_tokens: int = 0  # the part of those kept for an hour
    cost_usd: float | None = None  # at the price in force when it was recorded; None: price unknown
    price_source: str | None = None  # where that price came from (config, free, sim, dataset:…)
    replica_policy: str | None = None  # how the replica was chosen among several (routing/balance.py)
    replica_score: float | None = None  # its score under that policy (higher won)
    replica_reason: str | None = None  # the figures behind it (prefix blocks held, load)

    @property
    def times(self) -> TurnTimes:
        return TurnTimes(
            self.t_recv, self.t_first, self.t_last, self.output_tokens, self.input_tokens, self.cached_input_tokens
        )

    @property
    def ttft_s(self) -> float | None:
        return self.times.ttft_s

    @property
    def upstream_ttft_s(self) -> float | None:
        return None if self.t_first is None or self.t_up is None else self.t_first - self.t_up

    @property
    def decode_tps(self) -> float | None:
        return self.times.decode_tps

    def row(self) -> dict[str, Any]:
        # every field is a scalar: a shallow mapping (dataclasses.asdict deep-copies, 10x slower)
        return {name: getattr(self, name) for name in _FIELDS}

    @classmethod
    def from_row(cls, row: Any) -> TurnRecord:
        mapping = row._mapping if hasattr(row, "_mapping") else row
        return cls(**{f.name: mapping[f.name] for f in fields(cls)})


_FIELDS = tuple(f.name for f in fields(TurnRecord))
