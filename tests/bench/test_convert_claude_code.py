"""Claude Code session logs, as the real CLI (2.1.330) wrote them while talking to splitlane."""

from __future__ import annotations

from pathlib import Path

from splitlane.bench.convert import claude_code
from splitlane.bench.trace import history_at, read_trace, write_trace

FIXTURES = Path(__file__).parents[1] / "fixtures" / "claude_code"


def test_a_tool_session_becomes_two_calls_with_the_tool_result_between() -> None:
    _, (session,) = claude_code.convert(FIXTURES / "tool-session.jsonl")
    assert session.header.session_id == "claude-code:88b27cbd-73fa-4ac1-83e3-b99e0ffe1576"
    assert session.header.source.kind == "claude-code-jsonl"
    first, second = session.turns
    assert first.input.delta_messages == [{"role": "user", "content": "Create created.txt"}]
    assert first.output.message is not None
    (call,) = first.output.message["tool_calls"]
    assert call["function"]["name"] == "Bash"
    assert first.output.stop_reason == "tool_calls"
    assert first.timing.gap_kind == "tool"
    assert first.timing.gap_after is not None
    assert second.input.delta_messages[0] == {
        "role": "tool",
        "tool_call_id": call["id"],
        "content": "(Bash completed with no output)",
    }
    assert second.output.message == {"role": "assistant", "content": "Done: I wrote created.txt."}
    assert second.output.stop_reason == "end_turn"
    assert first.input.prompt_tokens == 100
    assert first.output.completion_tokens == 12
    assert session.header.tools
    assert session.header.tools[0]["function"]["name"] == "Bash"
    assert [m["role"] for m in history_at(session, 1)] == ["user", "assistant", "tool"]


def test_two_prompts_in_one_session_mark_the_human_gap(tmp_path: Path) -> None:
    header, sessions = claude_code.convert(FIXTURES / "plan-then-act.jsonl")
    (session,) = sessions
    assert len(session.turns) == 3  # the plan answer, then a tool call and the final answer
    assert session.turns[0].timing.gap_kind == "human"  # the person typed "Now do it"
    assert session.turns[1].timing.gap_kind == "tool"
    assert session.turns[1].input.delta_messages == [{"role": "user", "content": "Now do it"}]
    write_trace(tmp_path / "cc.jsonl.gz", header, sessions)
    _, again = read_trace(tmp_path / "cc.jsonl.gz")
    assert again[0].model_dump() == session.model_dump()
