"""``splitlane bench engine``: workloads, a short real run against B1 and B2, bad options."""

from __future__ import annotations

import asyncio
import itertools
import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from splitlane.bench.convert import swe_agent
from splitlane.bench.engine import workloads
from splitlane.bench.engine.run import Settings, decode_tps, run
from splitlane.bench.engine.targets import Result
from splitlane.cli.main import app
from splitlane.engine.models import default_model_path

TRACE = workloads.W1_TRACE
needs_trace = pytest.mark.skipif(not TRACE.is_file(), reason=f"the shared trajectory {TRACE} is not on this machine")


def _render(turns: list[dict[str, str]]) -> str:
    return "".join(f"<{t['role']}>{t['content']}</{t['role']}>" for t in turns)


@needs_trace
def test_w1_replays_the_recorded_history_turn_by_turn() -> None:
    session = workloads.w1(_render, TRACE)
    prompts = [r.prompt for r in session.requests]
    assert len(prompts) == 12
    assert all(len(b) > len(a) for a, b in itertools.pairwise(prompts))  # history grows
    assert all(b.startswith(a[: len(a) - len("</user>")]) for a, b in itertools.pairwise(prompts))
    _, [recorded] = swe_agent.convert(TRACE)
    assert [r.max_tokens for r in session.requests] == [t.output.completion_tokens for t in recorded.turns]
    one = workloads.w1(_render, TRACE, turns=2, marker="session 1")
    two = workloads.w1(_render, TRACE, turns=2, marker="session 2")
    assert len(one.requests) == 2
    shared = len(os.path.commonprefix([one.requests[0].prompt, two.requests[0].prompt]))  # noqa: RUF071 - strings wanted
    assert shared > 0.5 * len(one.requests[0].prompt)  # copies share the system prompt and demonstration
    assert "[session 1]" in one.requests[0].prompt


def test_w2_and_w3_prompts() -> None:
    w2 = workloads.w2(_render, 100)
    assert len(w2) == len(workloads.W2_FILES)
    assert all("class " in s.requests[0].prompt for s in w2)
    assert [len(s.requests) for s in workloads.w3(_render)] == [1, 1, 1]


def test_decode_rate_counts_tokens_after_the_first() -> None:
    results = [[Result(ttft_s=1.0, wall_s=3.0, output_tokens=21), Result(ttft_s=0.5, wall_s=0.5, output_tokens=1)]]
    assert decode_tps(results) == pytest.approx(10.0)


def test_a_short_run_against_both_baselines(tmp_path: Path) -> None:
    settings = Settings(
        model_path=default_model_path(),
        workdir=tmp_path,
        n_ctx=2048,
        w2_tokens=24,
        w3_tokens=12,
        concurrent=0,
        workloads=("w2", "w3"),
    )
    ticks: list[str] = []
    outcome = asyncio.run(run(settings, lambda _: None, lambda label, _: ticks.append(label)))
    assert set(outcome.results) == {
        "splitlane",
        "splitlane (no speculation)",
        "B1 create_completion",
        "B2 llama_cpp.server",
    }
    for target, by in outcome.results.items():
        tokens = [r.output_tokens for s in by["W3"] for r in s]
        assert all(1 <= t <= 12 for t in tokens), (target, tokens)
        assert not [r.error for s in by["W2"] for r in s if r.error]
    assert outcome.figures["w2_decode_vs_b1"] is not None
    assert outcome.figures["w3_decode_vs_b1"] is not None
    assert len(ticks) == 4 * (len(workloads.W2_FILES) + len(workloads.W3_PROMPTS))
    greedy = {t: [r.text for s in by["W3"] for r in s] for t, by in outcome.results.items()}
    assert greedy["splitlane"][0][:8] == greedy["B1 create_completion"][0][:8]  # same tokens in, greedy


def test_bad_options_exit_2(tmp_path: Path) -> None:
    for args in (["--workloads", "w9"], ["--baselines", "vllm"], ["--trace", str(tmp_path / "missing.traj")]):
        result = CliRunner().invoke(app, ["bench", "engine", *args, "--out", str(tmp_path)])
        assert result.exit_code == 2, result.output
    assert not (tmp_path / "engine.json").exists()
