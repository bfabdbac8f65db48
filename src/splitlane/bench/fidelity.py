"""How well the benchmark measures: replay against the simulator, whose timing is known exactly,
and compare what the client measured with what the profile prescribes, turn by turn."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from splitlane.bench.replay import TurnResult
from splitlane.bench.report import by_session
from splitlane.sim_profiles import SimProfile
from splitlane.telemetry.metrics import gaps_before, percentile
from splitlane.upstream.sim.adapter import schedule


@dataclass(frozen=True, slots=True)
class Fidelity:
    metric: str
    turns: int
    expected_p50: float
    measured_p50: float
    p50_ratio: float  # median of measured / expected, turn by turn
    p90_error: float  # 90th percentile of |measured / expected − 1|
    p90_error_abs: float  # 90th percentile of |measured − expected| (in the metric's unit)


def _row(metric: str, pairs: Sequence[tuple[float, float]]) -> Fidelity:
    ratios = [m / e for e, m in pairs if e > 0]
    return Fidelity(
        metric,
        len(ratios),
        percentile([e for e, _ in pairs], 50),
        percentile([m for _, m in pairs], 50),
        percentile(ratios, 50),
        percentile([abs(r - 1) for r in ratios], 90),
        percentile([abs(m - e) for e, m in pairs], 90),
    )


def compare(results: Sequence[TurnResult], profile: SimProfile) -> list[Fidelity]:
    """TTFT against the profile's schedule for the tokens the simulator reported (base latency,
    uncached and cached prefill), decode tokens/s against the profile's rate, and each gap
    between turns against the gap the replay planned."""
    ttft, decode, gaps = [], [], []
    for turns in by_session([r for r in results if not r.error]).values():
        for turn, gap in zip(turns, gaps_before([t.times for t in turns]), strict=True):
            times = turn.times
            if times.ttft_s is not None:
                expected, _ = schedule(profile, turn.prompt_tokens, turn.cached_tokens, turn.completion_tokens)
                ttft.append((expected, times.ttft_s))
            if times.decode_tps is not None:
                decode.append((profile.decode_tps, times.decode_tps))
            if gap is not None and turn.gap_before_planned_s:
                gaps.append((turn.gap_before_planned_s, gap))
    return [_row("TTFT (s)", ttft), _row("decode tok/s", decode), _row("gap (s)", gaps)]
