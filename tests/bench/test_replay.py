"""Replay against real servers on 127.0.0.1: the simulator behind the gateway on every API, and the
fake provider that records the wire bytes each target receives."""

from __future__ import annotations

import asyncio

import pytest

from splitlane.bench import report
from splitlane.bench.replay import GapPolicy, Replay, ReplayOptions, Target, TurnResult, parse_target
from splitlane.bench.synthetic import PRESETS, generate
from splitlane.bench.trace import Session, TurnTiming
from tests.servers import KIND_BY_PATH, FakeProvider


def tiny(sessions: int = 2, turns: int = 4) -> list[Session]:
    spec = PRESETS["tiny"].with_overrides({"sessions": str(sessions), "turns_median": str(turns), "turns_min": "1"})
    return generate(spec, 5)[1]


def replay(sessions: list[Session], targets: list[Target], **options: object) -> list[TurnResult]:
    opts = ReplayOptions(gaps=GapPolicy("none"), **options)  # type: ignore[arg-type]
    return asyncio.run(Replay(sessions, targets, opts).run())


@pytest.mark.parametrize("api", ["chat", "responses", "messages"])
def test_every_turn_is_measured_on_every_api(sim: str, api: str) -> None:
    sessions = tiny()
    results = replay(sessions, [Target("sim", sim, api, "sim")], concurrency=2, arrivals="none")  # type: ignore[arg-type]
    assert len(results) == sum(len(s.turns) for s in sessions)
    assert not [r.error for r in results if r.error]
    recorded = {(s.header.session_id, t.turn_index): t.output.completion_tokens for s in sessions for t in s.turns}
    for r in results:
        assert r.completion_tokens == recorded[(r.session_id, r.turn_index)]  # recorded output: max_tokens
        assert r.completion_tokens_source == "usage"
        assert r.t_first is not None
        assert r.t_send <= r.t_first <= r.t_last
    later = [r for r in results if r.turn_index > 0]
    assert all(r.cached_tokens > 0 for r in later)  # the session header kept each session's prefix
    (row,) = report.sessions([r for r in results if r.session_id == sessions[0].header.session_id])
    assert row.summary.turns == 4
    assert row.summary.output_tokens == sum(t.output.completion_tokens for t in sessions[0].turns)


def test_targets_receive_identical_prompts_but_their_own_marker(provider: tuple[FakeProvider, str]) -> None:
    fake, url = provider
    fake.requests.clear()
    sessions = tiny(sessions=1, turns=2)
    replay(sessions, [Target("a", url, "chat", "text"), Target("b", url, "messages", "text")], run_id="r1")
    chat = [r for r in fake.requests if KIND_BY_PATH[r.path] == "openai_chat"]
    messages = [r for r in fake.requests if KIND_BY_PATH[r.path] == "anthropic"]
    assert len(chat) == len(messages) == 2
    first = sessions[0].turns[0]
    assert chat[0].body["max_tokens"] == first.output.completion_tokens
    assert chat[0].body["ignore_eos"] is True
    assert "ignore_eos" not in messages[0].body  # Anthropic has no such field
    assert "[session r1-a-" in chat[0].body["messages"][0]["content"]
    assert "[session r1-b-" in str(messages[0].body["system"])
    chat_user = [m["content"] for m in chat[1].body["messages"] if m["role"] == "user"]
    anth_user = [
        m["content"][0]["text"] if isinstance(m["content"], list) else m["content"]
        for m in messages[1].body["messages"]
        if m["role"] == "user"
    ]
    assert chat_user == anth_user  # the same conversation on both
    assert chat[0].headers["x-session-affinity"] != messages[0].headers["x-session-affinity"]
    assert chat[0].headers["x-session-affinity"] == chat[1].headers["x-session-affinity"]


def test_a_live_reply_goes_into_the_next_prompt(provider: tuple[FakeProvider, str]) -> None:
    fake, url = provider
    fake.requests.clear()
    replay(tiny(sessions=1, turns=2), [Target("a", url, "chat", "text")], output_policy="live")
    first, second = fake.requests
    assert "max_tokens" in first.body
    assert "ignore_eos" not in first.body
    assert second.body["messages"][-2]["role"] == "assistant"
    assert second.body["messages"][-2]["content"] == "Hello from the fake upstream."  # the fixture's reply


def test_an_unreachable_target_records_errors_and_the_run_ends() -> None:
    results = replay(tiny(sessions=1, turns=3), [Target("down", "http://127.0.0.1:9", "chat")])
    assert len(results) == 3
    assert all(r.error and "connect" in r.error for r in results)
    assert all(r.t_first is None for r in results)


def test_a_failing_upstream_status_is_recorded_per_turn(provider: tuple[FakeProvider, str]) -> None:
    _, url = provider
    results = replay(tiny(sessions=1, turns=2), [Target("a", url, "chat", "status500")])
    assert [bool(r.error) for r in results] == [True, True]


def test_target_syntax() -> None:
    assert parse_target("vllm=http://h:8000,api=responses,model=m,key_env=K") == Target(
        "vllm", "http://h:8000", "responses", "m", "K"
    )
    for bad in ("http://h", "a=http://h,api=grpc", "a=http://h,temperature=1", "=http://h"):
        with pytest.raises(ValueError, match=r"expected|api must|unknown target option"):
            parse_target(bad)


def test_gap_policies() -> None:
    tool = TurnTiming(gap_after=10.0, gap_kind="tool")
    human = TurnTiming(gap_after=100.0, gap_kind="human")
    assert GapPolicy.parse("recorded").seconds(tool) == 10
    assert GapPolicy.parse("scale:0.5").seconds(tool) == 5
    assert GapPolicy.parse("fixed:2").seconds(human) == 2
    assert GapPolicy.parse("none").seconds(tool) == 0
    assert GapPolicy.parse("recorded", cap_s=30).seconds(human) == 30
    assert GapPolicy.parse("recorded", keep_human=False).seconds(human) == 0
    with pytest.raises(ValueError, match="gap policy must be"):
        GapPolicy.parse("sometimes")


def test_token_scale_shrinks_what_is_asked_for(provider: tuple[FakeProvider, str]) -> None:
    fake, url = provider
    fake.requests.clear()
    sessions = tiny(sessions=1, turns=1)
    replay(sessions, [Target("a", url, "chat", "text")], token_scale=0.5)
    (sent,) = fake.requests
    assert sent.body["max_tokens"] == max(1, round(sessions[0].turns[0].output.completion_tokens * 0.5))
