"""bench routing's workload and arithmetic (the live run needs a fleet: docs/bench.md)."""

from __future__ import annotations

from pathlib import Path

from splitlane.bench.content import Conversation
from splitlane.bench.replay import TurnResult
from splitlane.bench.routing import PolicyResult, Workload, comparisons, summarize


def test_sessions_share_the_context_blocks_and_grow_their_own(tmp_path: Path) -> None:
    workload = Workload(sessions=3, turns=3, shared_blocks=4, block_tokens=64)
    sessions = workload.sessions_in(tmp_path)
    assert len(sessions) == 3
    assert all(len(s.turns) == 3 for s in sessions)
    first = [s.turns[0].input.hash_ids for s in sessions]
    assert all(ids is not None and ids[:4] == [0, 1, 2, 3] for ids in first)
    assert len({ids[4] for ids in first if ids}) == 3  # each session's own task block
    last = sessions[0].turns[2].input.hash_ids
    assert last is not None
    assert last[:5] == (first[0] or [])[:5]
    assert len(last) == 7
    # replayed, two sessions' prompts start with the same text and part after it
    a = Conversation(sessions[0], "m", 1.0, "run-x").prompt(0)[0]["content"]
    b = Conversation(sessions[1], "m", 1.0, "run-x").prompt(0)[0]["content"]
    common = next(i for i, (x, y) in enumerate(zip(a, b, strict=False)) if x != y)
    assert common > 4 * 64 * 3  # about four blocks of shared filler
    other_run = Conversation(sessions[0], "m", 1.0, "run-y").prompt(0)[0]["content"]
    assert other_run[:200] != a[:200]  # another policy's run starts cold


def turn(session: str, index: int, t: float, prompt: int, cached: int, error: str | None = None) -> TurnResult:
    return TurnResult("r", "p", session, index, t, t + 0.5, None, t + 1.0, prompt, cached, 10, "usage", None, error)


def test_summary_and_ratios_against_the_baseline() -> None:
    results = [turn("a", 0, 0.0, 1000, 0), turn("a", 1, 1.0, 1200, 1000), turn("b", 0, 0.0, 1000, 800)]
    summary = summarize("prefix", results, [], ["http://r0/v1", "http://r1/v1"])
    assert summary.hit_ratio == 1000 / 1200
    assert summary.first_turn_hit_ratio == 800 / 2000
    assert summary.ttft_p50_s == 0.5
    assert summary.session_wall_p50_s == 1.5  # a: 2 s, b: 1 s
    base = PolicyResult("round_robin", 3, 0, 0, 1.0, 2.0, 0.5, 0.0, 3.0, 4.0, {}, 3)
    (row,) = comparisons([base, summary])
    assert row["ttft_p50_ratio"] == 0.5
    assert row["session_wall_p50_ratio"] == 0.5
    assert row["hit_ratio_points"] == round(100 * (1000 / 1200 - 0.5), 1)
