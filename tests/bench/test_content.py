"""What replayed turns send: sizes that follow the trace, one marker per session, live replies."""

from __future__ import annotations

import pytest

from splitlane.bench.content import WORDS, Conversation, filler
from splitlane.bench.synthetic import PRESETS, generate
from splitlane.bench.trace import Session, SessionLine, Source, TurnInput, TurnLine, TurnOutput


def test_filler_is_deterministic_and_one_estimated_token_a_word() -> None:
    assert filler("a", 50) == filler("a", 50) != filler("b", 50)
    assert len(filler("a", 50)) == 50 * 4
    assert all(len(w) == 4 for w in WORDS)


def test_synthetic_prompts_track_the_recorded_sizes() -> None:
    (session,) = generate(PRESETS["agentic"].with_overrides({"sessions": "1", "turns_median": "12"}), 3)[1]
    conversation = Conversation(session, "run-a")
    for i, turn in enumerate(session.turns):
        conversation.prompt(i)
        assert conversation.prompt_tokens_estimate == pytest.approx(turn.input.prompt_tokens, abs=8)
        conversation.answer(i)


def test_markers_separate_sessions_but_not_targets_replaying_the_same_marker() -> None:
    (session,) = generate(PRESETS["tiny"].with_overrides({"sessions": "1"}), 0)[1]
    a, b, c = Conversation(session, "m1"), Conversation(session, "m1"), Conversation(session, "m2")
    pa, pb, pc = a.prompt(0), b.prompt(0), c.prompt(0)
    assert pa == pb
    assert pa[0]["content"] != pc[0]["content"]
    assert pa[1:] == pc[1:]


def test_a_compacted_history_keeps_its_session_marker() -> None:
    system = {"role": "system", "content": "You are a coding agent."}
    session = Session(
        header=SessionLine(session_id="s", source=Source(kind="test"), initial_messages=[system]),
        turns=[
            TurnLine(
                session_id="s",
                turn_index=0,
                input=TurnInput(delta_messages=[{"role": "user", "content": "go"}]),
                output=TurnOutput(message={"role": "assistant", "content": "ok"}, completion_tokens=1),
            ),
            TurnLine(
                session_id="s",
                turn_index=1,
                input=TurnInput(delta_messages=[system, {"role": "user", "content": "summary"}], replace_history=True),
                output=TurnOutput(message={"role": "assistant", "content": "done"}, completion_tokens=1),
            ),
        ],
    )
    a, b = Conversation(session, "m1"), Conversation(session, "m2")
    first = a.prompt(0)
    a.answer(0)
    b.prompt(0)
    b.answer(0)
    compacted_a, compacted_b = a.prompt(1), b.prompt(1)
    assert [m["content"] for m in compacted_a[1:]] == ["summary"]
    assert compacted_a[0] == first[0]  # the same opening as before the compaction: a prefix cache still hits
    assert compacted_a[0] != compacted_b[0]  # and still not another session's


def _tool_session() -> Session:
    call = {"id": "call_rec", "type": "function", "function": {"name": "bash", "arguments": "{}"}}
    return Session(
        header=SessionLine(
            session_id="s", source=Source(kind="test"), initial_messages=[{"role": "user", "content": "go"}]
        ),
        turns=[
            TurnLine(
                session_id="s",
                turn_index=0,
                input=TurnInput(),
                output=TurnOutput(
                    message={"role": "assistant", "content": "", "tool_calls": [call]}, completion_tokens=5
                ),
            ),
            TurnLine(
                session_id="s",
                turn_index=1,
                input=TurnInput(delta_messages=[{"role": "tool", "tool_call_id": "call_rec", "content": "ok"}]),
                output=TurnOutput(message={"role": "assistant", "content": "done"}, completion_tokens=1),
            ),
        ],
    )


def test_a_live_reply_with_the_same_calls_stands_in_and_tool_results_follow_its_ids() -> None:
    conversation = Conversation(_tool_session(), "m")
    conversation.prompt(0)
    live_call = {"id": "call_live", "type": "function", "function": {"name": "bash", "arguments": '{"x":1}'}}
    conversation.answer(0, {"role": "assistant", "content": "", "tool_calls": [live_call]})
    history = conversation.prompt(1)
    assert history[-2]["tool_calls"] == [live_call]
    assert history[-1]["tool_call_id"] == "call_live"
    assert conversation.diverged == 0


def test_a_live_reply_without_the_recorded_calls_keeps_the_recorded_one() -> None:
    conversation = Conversation(_tool_session(), "m")
    conversation.prompt(0)
    conversation.answer(0, {"role": "assistant", "content": "I refuse"})
    history = conversation.prompt(1)
    assert history[-2]["tool_calls"][0]["id"] == "call_rec"
    assert history[-1]["tool_call_id"] == "call_rec"
    assert conversation.diverged == 1


def test_token_scale_shrinks_synthetic_sessions_for_small_engines() -> None:
    (session,) = generate(PRESETS["agentic"].with_overrides({"sessions": "1", "turns_median": "6"}), 2)[1]
    conversation = Conversation(session, "m", token_scale=0.1)
    for i, turn in enumerate(session.turns):
        conversation.prompt(i)
        assert conversation.prompt_tokens_estimate == pytest.approx((turn.input.prompt_tokens or 0) * 0.1, abs=8)
        assert conversation.output_tokens(i) == max(1, round(turn.output.completion_tokens * 0.1))
        conversation.answer(i)
