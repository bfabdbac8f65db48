"""The synthetic session generator: seeded, and shaped like the published figures it cites."""

from __future__ import annotations

import statistics

import pytest

from splitlane.bench.synthetic import PRESETS, generate
from splitlane.telemetry.metrics import percentile


def test_same_seed_same_trace_other_seed_other_trace() -> None:
    spec = PRESETS["agentic"].with_overrides({"sessions": "3"})
    a, b, c = generate(spec, 7)[1], generate(spec, 7)[1], generate(spec, 8)[1]
    assert [s.model_dump() for s in a] == [s.model_dump() for s in b]
    assert [s.model_dump() for s in a] != [s.model_dump() for s in c]


def test_agentic_defaults_follow_traces_md() -> None:
    sessions = generate(PRESETS["agentic"].with_overrides({"sessions": "300"}), 1)[1]
    turns = [len(s.turns) for s in sessions]
    assert 30 <= statistics.median(turns) <= 80
    assert max(turns) > 150  # a tail past the median
    outputs = [t.output.completion_tokens for s in sessions for t in s.turns]
    assert percentile(outputs, 25) >= 100
    assert percentile(outputs, 75) <= 550
    gaps = [t.timing.gap_after for s in sessions for t in s.turns if t.timing.gap_after is not None]
    assert percentile(gaps, 50) == pytest.approx(0.3, rel=0.1)
    assert percentile(gaps, 90) == pytest.approx(14, rel=0.15)  # a sample quantile of a heavy tail
    firsts = [s.turns[0].input.prompt_tokens or 0 for s in sessions]
    assert min(firsts) >= 10_000
    assert max(firsts) <= 70_000
    growth = [
        (b.input.prompt_tokens or 0) - (a.input.prompt_tokens or 0)
        for s in sessions
        for a, b in zip(s.turns, s.turns[1:], strict=False)
    ]
    assert 500 <= statistics.median(growth) <= 6_000  # prompts grow by tool output and the previous reply


def test_speedstack_matches_the_published_session_shape() -> None:
    sessions = generate(PRESETS["speedstack"].with_overrides({"sessions": "100"}), 0)[1]
    assert {len(s.turns) for s in sessions} == {60}
    mean_output = statistics.mean(t.output.completion_tokens for s in sessions for t in s.turns)
    assert mean_output == pytest.approx(397, rel=0.05)


def test_unknown_parameters_are_refused() -> None:
    with pytest.raises(ValueError, match="unknown synthetic parameter"):
        PRESETS["agentic"].with_overrides({"turns": "3"})
