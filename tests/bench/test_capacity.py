"""bench/capacity.py: SLO terms, the climb that stops at the first level that breaks, goodput;
the command end to end on an in-process simulator (its numbers not asserted: no timing here)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import pytest
from typer.testing import CliRunner

from splitlane.bench.capacity import Bound, capacity, climb, clones, measure, parse_slo
from splitlane.bench.replay import ReplayOptions, Target, TurnResult
from splitlane.bench.synthetic import PRESETS, generate
from splitlane.bench.trace import Session
from splitlane.cli.main import app


def test_slo_terms() -> None:
    assert parse_slo("ttft_p90=5, decode_p50=30") == (Bound("ttft", 90, 5.0), Bound("decode", 50, 30.0))
    for bad in ("", "ttft=5", "latency_p90=5", "ttft_p0=5"):
        with pytest.raises(ValueError, match="SLO"):
            parse_slo(bad)
    with pytest.raises(ValueError, match="must be a number"):
        parse_slo("ttft_p90=fast")


def result(session: str, ttft: float, decode_s: float = 1.0, tokens: int = 51, error: str | None = None) -> TurnResult:
    return TurnResult("r", "t", session, 0, 0.0, ttft, None, ttft + decode_s, 100, 0, tokens, "usage", None, error)


def fake_replay(ttft_per_session: float) -> object:
    """A replay whose TTFT grows with the sessions in flight (a queue), deterministic."""

    def replay(sessions: Sequence[Session], targets: Sequence[Target], options: ReplayOptions) -> list[TurnResult]:
        return [result(s.header.session_id, ttft_per_session * options.concurrency) for s in sessions]

    return replay


def test_the_climb_stops_at_the_first_level_that_breaks() -> None:
    session = generate(PRESETS["tiny"], seed=0)[1][0]
    slo = parse_slo("ttft_p90=5,decode_p50=30")
    seen: list[int] = []
    levels = climb(
        [session], Target("t", "http://x"), ReplayOptions(), slo, [1, 2, 4, 8, 16],
        fake_replay(1.0), lambda level: seen.append(level.sessions),  # type: ignore[arg-type]
    )  # fmt: skip
    assert seen == [1, 2, 4, 8]  # 8 sessions: TTFT 8 s > 5 s, and no level after it
    assert [level.holds(slo) for level in levels] == [True, True, True, False]
    assert capacity(levels, slo) == 4
    assert levels[2].decode_p50 == pytest.approx(50.0)  # 50 tokens after the first in 1 s


def test_errors_break_a_level_and_goodput_counts_turns_within_the_bounds() -> None:
    slo = parse_slo("ttft_p90=5")
    turns = [result("a", 1.0), result("b", 9.0), result("c", 1.0, error="boom")]
    level = measure(turns, slo, 3)
    assert level.errors == 1
    assert not level.holds(slo)
    assert level.goodput_per_min == pytest.approx(1 / 10.0 * 60)  # one good turn in a 10 s wall


def test_clones_get_ids_of_their_own() -> None:
    sessions = generate(PRESETS["tiny"], seed=0)[1][:2]
    cloned = clones(sessions, 5, level=3)
    ids = [s.header.session_id for s in cloned]
    assert len(set(ids)) == 5
    assert all(t.session_id == s.header.session_id for s in cloned for t in s.turns)


def test_the_command_writes_its_levels_and_plot(tmp_path: Path) -> None:
    out = tmp_path / "cap"
    result = CliRunner().invoke(
        app,
        ["bench", "capacity", "--trace", "synthetic:tiny", "--target", "s=sim:instant", "--levels", "1,2",
         "--max-turns", "2", "--slo", "ttft_p90=5,decode_p50=1", "--out", str(out)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    document = json.loads((out / "capacity.json").read_text())
    assert [level["sessions"] for level in document["levels"]][:1] == [1]
    assert document["capacity"] in (0, 1, 2)
    assert (out / "capacity.png").read_bytes()[:4] == b"\x89PNG"
    assert "capacity:" in result.output
