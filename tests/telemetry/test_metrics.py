"""The metric definitions of DESIGN.md, on hand-made timestamps."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from splitlane.telemetry.metrics import TurnTimes, gaps_before, percentile, session_table, summarize_session


def test_turn_metrics() -> None:
    turn = TurnTimes(
        t_recv=10.0, t_first=10.5, t_last=12.5, output_tokens=41, input_tokens=1000, cached_input_tokens=900
    )
    assert turn.ttft_s == pytest.approx(0.5)
    assert turn.decode_tps == pytest.approx(40 / 2.0)  # (output − 1) / (t_last − t_first)
    assert TurnTimes(0, 0.1, 0.1, output_tokens=1).decode_tps is None  # one token has no decode rate
    tool_only = TurnTimes(0, None, 0.3, output_tokens=0)
    assert tool_only.ttft_s is None
    assert tool_only.decode_s == 0


def test_session_metrics_and_time_split() -> None:
    turns = [
        TurnTimes(0.0, 1.0, 3.0, output_tokens=100, input_tokens=1000, cached_input_tokens=0),
        TurnTimes(5.0, 5.5, 6.5, output_tokens=50, input_tokens=1200, cached_input_tokens=1000),
    ]
    assert gaps_before(turns) == [None, 2.0]
    s = summarize_session(turns)
    assert s.wall_s == 6.5
    assert (s.wait_s, s.decode_s, s.gap_s) == (1.5, 3.0, 2.0)
    assert s.effective_tps == pytest.approx(150 / 6.5)
    assert s.runs_per_30min == pytest.approx(1800 / 6.5)
    assert s.cache_hit_ratio == pytest.approx(1000 / 2200)


def test_percentiles_interpolate_linearly() -> None:
    values = [10.0, 20.0, 30.0, 40.0]
    assert percentile(values, 50) == 25.0
    assert percentile(values, 10) == pytest.approx(13.0)  # rank 0.3 between 10 and 20
    assert percentile(values, 90) == pytest.approx(37.0)
    assert percentile([5.0], 90) == 5.0
    assert math.isnan(percentile([], 50))


def test_session_table() -> None:
    summaries = [
        summarize_session([TurnTimes(0, 1, 11, output_tokens=n * 10)]) for n in (1, 2, 3, 4)
    ]  # wall 11 s each; effective 10/11 … 40/11
    table = session_table(summaries)
    assert table.sessions == 4
    assert table.mean_wall_s == 11
    assert table.p50_effective_tps == pytest.approx(25 / 11)
    assert table.runs_per_30min == pytest.approx(1800 / 11)
    assert session_table([]).sessions == 0


times = st.floats(min_value=0, max_value=100, allow_nan=False)


@given(st.lists(st.tuples(times, times, times, st.booleans()), min_size=1, max_size=20))
def test_the_time_split_adds_up_to_the_wall_time(steps: list[tuple[float, float, float, bool]]) -> None:
    """waiting + decoding + gaps = wall, for any sequence of turns that do not overlap."""
    turns, t = [], 0.0
    for gap, wait, decode, has_content in steps:
        t_recv = t + gap
        t_first = t_recv + wait if has_content else None
        t_last = (t_first if t_first is not None else t_recv + wait) + (decode if has_content else 0)
        turns.append(TurnTimes(t_recv, t_first, t_last, output_tokens=3))
        t = t_last
    s = summarize_session(turns)
    assert s.wait_s + s.decode_s + s.gap_s == pytest.approx(s.wall_s, abs=1e-6)
