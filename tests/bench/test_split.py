"""``splitlane bench split``: the same trace three ways, lanes as the gateway classifies them, costs
from each gateway's own records."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from splitlane.bench import split
from splitlane.bench.content import PLAN_EXITED, PLAN_REMINDER, Conversation
from splitlane.bench.synthetic import PRESETS, generate
from splitlane.cli.main import app
from splitlane.telemetry.records import TurnRecord

runner = CliRunner()


def test_synthetic_sessions_open_with_plan_mode_turns() -> None:
    (session,) = generate(PRESETS["tiny"].with_overrides({"sessions": "1", "plan_turns": "2"}), 0)[1]
    assert [t.input.mode for t in session.turns] == ["plan", "plan", "act", "act", "act", "act"]
    (unmarked,) = generate(PRESETS["tiny"].with_overrides({"sessions": "1"}), 0)[1]
    assert {t.input.mode for t in unmarked.turns} == {None}


def test_replayed_prompts_carry_claude_codes_mode_markers() -> None:
    (session,) = generate(PRESETS["tiny"].with_overrides({"sessions": "1", "plan_turns": "2"}), 0)[1]
    conversation = Conversation(session, "run-1")
    texts = []
    for index in range(4):
        texts.append(conversation.prompt(index)[-1]["content"])
        conversation.answer(index)
    assert texts[0].startswith(PLAN_REMINDER)
    assert texts[1].startswith(PLAN_REMINDER)  # Claude Code repeats the reminder every plan turn
    assert texts[2].startswith(PLAN_EXITED)  # the first turn after plan mode
    assert not texts[3].startswith(("<system-reminder>",))


def test_upstream_specs() -> None:
    assert split.upstream_spec("sim:frontier?decode_tps=75") == {
        "kind": "sim",
        "sim_profile": "frontier",
        "sim": {"decode_tps": "75"},
    }
    assert split.upstream_spec("https://api.anthropic.com,kind=anthropic,model=claude-sonnet-4-5,key_env=K") == {
        "kind": "anthropic",
        "base_url": "https://api.anthropic.com",
        "api_key_env": "K",
        "_model": "claude-sonnet-4-5",
    }
    with pytest.raises(ValueError, match="expected sim:PROFILE"):
        split.upstream_spec("frontier")
    config = split.split_config(
        "split", split.upstream_spec("sim:frontier"), split.upstream_spec("http://x/v1,model=m"), Path("/tmp/x")
    )
    assert config.models["coder"].lanes == {"plan": "plan/plan", "act": "act/m", "background": "act/m"}


def _turn(lane: str, cost: float | None, tokens: int) -> TurnRecord:
    return TurnRecord(
        id=lane + str(cost), session="s", session_source="", client="", surface="chat", model="coder", lane=lane,
        lane_reason="", upstream="u/m", replica="", fallbacks=0, stream=True, status="ok", error=None,
        stop_reason=None, t_recv=0, t_up=None, t_first=None, t_last=1, gap_before_s=None, input_tokens=tokens,
        cached_input_tokens=0, output_tokens=10, reasoning_tokens=0, tool_calls=0, messages=1, prompt_chars=1,
        prompt_hash="h", cost_usd=cost,
    )  # fmt: skip


def test_spend_adds_up_what_each_gateway_recorded() -> None:
    spend = split.Spend.of([_turn("plan", 0.5, 90), _turn("act", 0.25, 290), _turn("act", None, 90)])
    assert spend.cost_usd == pytest.approx(0.75)
    assert spend.unpriced_turns == 1
    assert spend.cost_by_lane == {"act": 0.25, "plan": 0.5}
    stats = spend.stats()
    assert stats["plan_token_share"] == pytest.approx(100 / 500)
    assert stats["mean_session_cost_usd"] == pytest.approx(0.75)
    assert stats["cost_per_1k_output_usd"] == pytest.approx(0.75 / 30 * 1000)


def test_split_lands_between_all_plan_and_all_act(tmp_path: Path) -> None:
    """Sim profiles with prices: the frontier one ($3/$15) for planning, the fast one ($1/$5) for the
    rest; two plan-mode turns of six classified as plan by the gateway."""
    out = tmp_path / "split"
    result = runner.invoke(
        app,
        ["bench", "split", "--trace", "synthetic:tiny", "--sessions", "1", "--plan-turns", "2", "--gaps", "none",
         "--plan", "sim:frontier?decode_tps=400", "--act", "sim:fast?decode_tps=2000", "--out", str(out),
         "--no-plot"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    data = json.loads((out / "split.json").read_text())
    assert set(data) == {"all-plan", "all-act", "split"}
    costs = {name: data[name]["mean_session_cost_usd"] for name in data}
    assert costs["all-act"] < costs["split"] < costs["all-plan"]
    assert set(data["split"]["tokens_by_lane"]) == {"plan", "act"}  # the markers routed the opening turns
    assert 0 < data["split"]["plan_token_share"] < 0.5
    assert data["split"]["unpriced_turns"] == 0
    sessions = [json.loads(line) for line in (out / "sessions.jsonl").read_text().splitlines()]
    walls = {s["endpoint"]: s["wall_s"] for s in sessions}
    assert walls["all-act"] < walls["all-plan"]  # 2000 vs 400 tok/s decode
