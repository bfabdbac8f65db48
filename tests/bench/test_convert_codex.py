"""bench/convert/codex.py on rollouts the real Codex CLI (0.169.0) wrote when it ran through
splitlane in tests/agents: a tool loop, and a session compacted through the gateway."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from splitlane.bench.convert.codex import convert
from splitlane.bench.trace import history_at, read_trace
from splitlane.cli.main import app

FIXTURES = Path(__file__).parents[1] / "fixtures" / "codex"
TOOL_LOOP = FIXTURES / "rollout-tool-loop-0.169.0.jsonl"
COMPACTED = FIXTURES / "rollout-remote-compaction-0.169.0.jsonl"


def test_a_tool_loop_is_two_calls_with_the_tool_time_between() -> None:
    _, [session] = convert(TOOL_LOOP)
    assert session.header.session_id.startswith("codex:01a24e37")
    assert session.header.tags["cli_version"] == "0.169.0"
    assert session.header.source.model_recorded == "agent"
    first, second = session.turns
    assert [m["role"] for m in first.input.delta_messages] == ["system", "user", "user"]
    assert first.input.delta_messages[-1]["content"] == "Create created.txt"
    [call] = first.output.message["tool_calls"]  # type: ignore[index]
    assert call["function"]["name"] == "exec_command"
    assert "printf" in json.loads(call["function"]["arguments"])["cmd"]
    assert first.output.stop_reason == "tool_calls"
    assert first.input.prompt_tokens == 100  # the upstream's usage, from the token_count event
    assert first.timing.gap_kind == "tool"
    assert first.timing.gap_after is not None
    assert first.timing.gap_after >= 0
    assert second.input.delta_messages == [
        {"role": "tool", "tool_call_id": call["id"], "content": second.input.delta_messages[0]["content"]}
    ]
    assert second.output.message["content"] == "Done: I wrote created.txt."  # type: ignore[index]
    assert second.timing.t_start is not None
    assert second.timing.t_start > first.timing.t_start
    assert session.header.tools == [
        {"type": "function", "function": {"name": "exec_command", "parameters": {"type": "object"}}}
    ]


def test_the_base_instructions_open_every_history() -> None:
    _, [session] = convert(COMPACTED)
    [system] = session.header.initial_messages
    assert system["role"] == "system"
    assert system["content"].startswith("You are a coding agent running in the Codex CLI")
    for index in range(len(session.turns)):  # compacted or not: Codex sends its instructions with each request
        assert history_at(session, index)[0] == system
    compacted = history_at(session, 1)
    assert system not in compacted[1:]
    # the tool schemas are not in the log: what the first prompt recorded beyond its text
    assert session.header.tools_tokens is not None
    assert 0 < session.header.tools_tokens < session.turns[0].input.prompt_tokens  # type: ignore[operator]


def test_a_compaction_replaces_the_history() -> None:
    _, [session] = convert(COMPACTED)
    assert [t.input.replace_history for t in session.turns] == [False, True]
    assert "Finished after the compaction." in session.turns[-1].output.message["content"]  # type: ignore[index]


def test_convert_and_replay_against_sim(tmp_path: Path) -> None:
    trace = tmp_path / "codex.jsonl"
    runner = CliRunner()
    converted = runner.invoke(app, ["bench", "convert", str(TOOL_LOOP), "--from", "codex", "-o", str(trace)])
    assert converted.exit_code == 0, converted.output
    _, sessions = read_trace(trace)
    assert len(sessions[0].turns) == 2
    out = tmp_path / "run"
    replayed = runner.invoke(
        app, ["bench", "--trace", str(trace), "--target", "sim=sim:instant", "--gaps", "none", "--out", str(out)]
    )
    assert replayed.exit_code == 0, replayed.output
    turns = [json.loads(line) for line in (out / "turns.jsonl").read_text().splitlines()]
    assert len(turns) == 2
    assert all(t["error"] is None for t in turns)


def test_a_folder_of_rollouts_is_one_trace(tmp_path: Path) -> None:
    day = tmp_path / "sessions" / "2026" / "12" / "07"
    day.mkdir(parents=True)
    for fixture in (TOOL_LOOP, COMPACTED):
        (day / f"rollout-{fixture.stem}.jsonl").write_bytes(fixture.read_bytes())
    (day / "notes.jsonl").write_text("{}\n")  # not a rollout: left alone
    trace = tmp_path / "all.jsonl"
    result = CliRunner().invoke(
        app, ["bench", "convert", str(tmp_path / "sessions"), "--from", "codex", "-o", str(trace)]
    )
    assert result.exit_code == 0, result.output
    header, sessions = read_trace(trace)
    assert len(sessions) == 2
    assert "2 files" in header.notes
