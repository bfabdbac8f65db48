"""The project's session metrics, exactly as DESIGN.md defines them; one implementation, used by the
benchmark (client-side clock) and by telemetry (gateway clock).

Per turn: ``ttft_s = t_first − t_recv``, ``decode_tps = (output − 1) / (t_last − t_first)``.
Per session: ``wall_s = t_last(last) − t_recv(first)``, ``effective_tps = Σ output / wall_s``, the
time split into waiting (Σ TTFT), decoding (Σ t_last − t_first) and gaps (Σ tool/human time),
``runs_per_30min = 1800 / wall_s`` and the cache hit ratio ``Σ cached / Σ input``.
Across sessions: P10/P50/P90 by linear interpolation.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class TurnTimes:
    """One turn's timestamps (seconds on one monotonic clock) and token counts."""

    t_recv: float
    t_first: float | None  # first content-bearing event; None when the turn produced none
    t_last: float
    output_tokens: int = 0
    input_tokens: int = 0
    cached_input_tokens: int = 0

    @property
    def ttft_s(self) -> float | None:
        return None if self.t_first is None else self.t_first - self.t_recv

    @property
    def decode_s(self) -> float:
        return 0.0 if self.t_first is None else self.t_last - self.t_first

    @property
    def decode_tps(self) -> float | None:
        if self.output_tokens < 2 or self.decode_s <= 0:
            return None
        return (self.output_tokens - 1) / self.decode_s


def gaps_before(turns: Sequence[TurnTimes]) -> list[float | None]:
    """``gap_before_s`` of each turn: from the previous turn's last event to this turn's request."""
    return [None] + [max(0.0, b.t_recv - a.t_last) for a, b in itertools.pairwise(turns)]


@dataclass(frozen=True, slots=True)
class SessionSummary:
    turns: int
    wall_s: float
    wait_s: float  # Σ TTFT: queueing and prefill
    decode_s: float  # Σ (t_last − t_first)
    gap_s: float  # Σ gaps between turns: tools and humans
    output_tokens: int
    input_tokens: int
    cached_input_tokens: int

    @property
    def effective_tps(self) -> float:
        return self.output_tokens / self.wall_s if self.wall_s > 0 else 0.0

    @property
    def runs_per_30min(self) -> float:
        return 1800 / self.wall_s if self.wall_s > 0 else 0.0

    @property
    def cache_hit_ratio(self) -> float:
        return self.cached_input_tokens / self.input_tokens if self.input_tokens else 0.0

    @property
    def llm_s(self) -> float:
        return self.wait_s + self.decode_s


def summarize_session(turns: Sequence[TurnTimes]) -> SessionSummary:
    if not turns:
        raise ValueError("a session needs at least one turn")
    wait = sum((t.t_last if t.t_first is None else t.t_first) - t.t_recv for t in turns)
    return SessionSummary(
        turns=len(turns),
        wall_s=turns[-1].t_last - turns[0].t_recv,
        wait_s=wait,
        decode_s=sum(t.decode_s for t in turns),
        gap_s=sum(g for g in gaps_before(turns) if g is not None),
        output_tokens=sum(t.output_tokens for t in turns),
        input_tokens=sum(t.input_tokens for t in turns),
        cached_input_tokens=sum(t.cached_input_tokens for t in turns),
    )


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0–100) by linear interpolation between closest ranks (numpy's default)."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100
    low = math.floor(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


@dataclass(frozen=True, slots=True)
class SessionTable:
    """The session table row: sessions · mean wall · mean output tokens · P50/P90/P10 effective
    tok/s · runs per 30 min (1800 / mean wall: sessions run one after another)."""

    sessions: int
    mean_wall_s: float
    mean_output_tokens: float
    p10_effective_tps: float
    p50_effective_tps: float
    p90_effective_tps: float
    runs_per_30min: float
    mean_wait_s: float
    mean_decode_s: float
    mean_gap_s: float
    cache_hit_ratio: float


def session_table(summaries: Sequence[SessionSummary]) -> SessionTable:
    n = len(summaries)
    if not n:
        nan = math.nan
        return SessionTable(0, nan, nan, nan, nan, nan, nan, nan, nan, nan, nan)
    effective = [s.effective_tps for s in summaries]
    mean_wall = sum(s.wall_s for s in summaries) / n
    inputs = sum(s.input_tokens for s in summaries)
    return SessionTable(
        sessions=n,
        mean_wall_s=mean_wall,
        mean_output_tokens=sum(s.output_tokens for s in summaries) / n,
        p10_effective_tps=percentile(effective, 10),
        p50_effective_tps=percentile(effective, 50),
        p90_effective_tps=percentile(effective, 90),
        runs_per_30min=1800 / mean_wall if mean_wall > 0 else 0.0,
        mean_wait_s=sum(s.wait_s for s in summaries) / n,
        mean_decode_s=sum(s.decode_s for s in summaries) / n,
        mean_gap_s=sum(s.gap_s for s in summaries) / n,
        cache_hit_ratio=sum(s.cached_input_tokens for s in summaries) / inputs if inputs else 0.0,
    )


def turn_stats(turns: Sequence[TurnTimes], errors: int) -> dict[str, float]:
    """Per-turn figures beside the session table: P50/P90 TTFT, P50 decode rate, errors."""
    ttfts = [t for turn in turns if (t := turn.ttft_s) is not None]
    decode = [d for turn in turns if (d := turn.decode_tps) is not None]
    return {
        "p50_ttft_s": percentile(ttfts, 50),
        "p90_ttft_s": percentile(ttfts, 90),
        "p50_decode_tps": percentile(decode, 50),
        "errors": float(errors),
    }
