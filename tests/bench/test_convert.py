"""Converters on the real trajectories in ../shared/data/trajectories."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from splitlane.bench.convert import swe_agent, tracelab
from splitlane.bench.trace import history_at, read_trace, write_trace
from splitlane.cli.main import app

DATA = Path(os.environ.get("SPLITLANE_SHARED_DATA", Path(__file__).parents[3] / "shared" / "data")) / "trajectories"
pytestmark = pytest.mark.skipif(
    not DATA.is_dir(), reason=f"the shared trajectories are not beside the checkout ({DATA})"
)


def test_swe_agent_pydicom_keeps_the_recorded_totals() -> None:
    _, (session,) = swe_agent.convert(DATA / "swe-agent-pydicom-1458.traj")
    assert len(session.turns) == 12  # info.model_stats.api_calls
    assert [m["role"] for m in session.header.initial_messages] == ["system", "user", "user"]
    assert abs(sum(t.input.prompt_tokens or 0 for t in session.turns) - 122_612) <= 12  # tokens_sent, rounded
    assert abs(sum(t.output.completion_tokens for t in session.turns) - 1_369) <= 12  # tokens_received
    prompts = [t.input.prompt_tokens or 0 for t in session.turns]
    assert prompts == sorted(prompts)  # the context only grows
    assert len(history_at(session, 11)) == 25  # 26 recorded messages, less the last reply


def test_swe_agent_function_calling_keeps_tool_calls_and_gaps() -> None:
    _, (session,) = swe_agent.convert(DATA / "swe-agent-marshmallow-1867-function-calling.traj")
    assert len(session.turns) == 11
    first = session.turns[0]
    assert first.output.message is not None
    assert first.output.message["tool_calls"][0]["function"]["name"] == "create"
    assert session.turns[1].input.delta_messages[0]["role"] == "tool"
    assert session.turns[1].input.delta_messages[0]["tool_call_id"] == first.output.message["tool_calls"][0]["id"]
    assert first.timing.gap_after is not None
    assert first.timing.gap_after > 0


def test_tracelab_sessions_are_synthetic_with_recorded_sizes() -> None:
    _, sessions = tracelab.convert(DATA / "tracelab-round-trace.jsonl")
    assert sorted(len(s.turns) for s in sessions) == [9, 10]
    claude = next(s for s in sessions if "claude" in s.header.session_id)
    assert claude.header.content_mode == "synthetic"
    assert claude.turns[0].input.prompt_tokens == 32_272
    assert claude.turns[0].input.cached_tokens_recorded == 27_217
    assert claude.turns[0].output.completion_tokens == 931
    assert all(t.timing.gap_after is None or t.timing.gap_after >= 0 for s in sessions for t in s.turns)
    assert claude.turns[-1].timing.gap_after is None


def test_round_trip_through_the_file_format(tmp_path: Path) -> None:
    header, sessions = tracelab.convert(DATA / "tracelab-round-trace.jsonl")
    path = tmp_path / "trace.jsonl.gz"
    write_trace(path, header, sessions)
    header_back, back = read_trace(path)
    assert header_back.schema_ == "agentsession/v1"
    assert [s.model_dump() for s in back] == [s.model_dump() for s in sessions]


def test_cli_convert(tmp_path: Path) -> None:
    out = tmp_path / "pydicom.jsonl"
    result = CliRunner().invoke(app, ["bench", "convert", str(DATA / "swe-agent-pydicom-1458.traj"), "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert "1,369" in result.output  # the output-token total in the summary table
    lines = out.read_text().splitlines()
    assert lines[0].startswith('{"type":"file","schema":"agentsession/v1"')
    assert '"session_id":"swea:swe-agent-pydicom-1458"' in lines[1]
    assert len(lines) == 2 + 12
