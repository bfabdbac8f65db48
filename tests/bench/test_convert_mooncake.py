"""bench/convert/mooncake.py and the block-hash content of bench/content.py. ``trace.jsonl`` holds
the first lines of Mooncake's published trace (as quoted in NVIDIA Dynamo's benchmark docs);
``sessions.jsonl`` the multi-turn ``session_id`` form AIPerf reads (its NAT converter's example
lines, and one more session sharing their first blocks)."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

from typer.testing import CliRunner

from splitlane.bench.content import Conversation
from splitlane.bench.convert.mooncake import convert, export
from splitlane.bench.trace import Session, SessionLine, Source, TurnInput, TurnLine, TurnOutput, TurnTiming, history_at
from splitlane.cli.main import app
from splitlane.upstream.estimate import CHARS_PER_TOKEN

FIXTURES = Path(__file__).parents[1] / "fixtures" / "mooncake"


def prompt(conversation: Conversation, index: int) -> str:
    return str(conversation.prompt(index)[-1]["content"])


def test_each_line_is_a_session_or_a_turn_of_its_session() -> None:
    _, single = convert(FIXTURES / "trace.jsonl")
    assert [len(s.turns) for s in single] == [1, 1, 1, 1]
    assert single[2].header.arrival_offset_s == 3.052
    _, multi = convert(FIXTURES / "sessions.jsonl")
    conv0, conv1 = multi
    assert conv0.header.session_id == "mooncake:conv_0"
    assert conv0.header.content_mode == "synthetic"
    assert conv0.header.block_size == 512
    assert [t.input.prompt_tokens for t in conv0.turns] == [9176, 9500]
    assert conv0.turns[1].timing.t_start == 4.2
    assert conv1.turns[0].input.hash_ids == [1, 2, 3, 20, 21, 22]


def test_equal_hashes_give_equal_prefixes_across_sessions_and_not_across_runs() -> None:
    _, [conv0, conv1] = convert(FIXTURES / "sessions.jsonl")
    run = Conversation(conv0, "m0", namespace="run-a"), Conversation(conv1, "m1", namespace="run-a")
    first, second = prompt(run[0], 0), prompt(run[1], 0)
    shared = 3 * 512 * 4  # three blocks of 512 one-token words, four characters each
    assert first[: shared - 1] == second[: shared - 1]  # blocks 1, 2, 3
    assert first[shared : shared + 400] != second[shared : shared + 400]  # block 4 vs block 20
    later = prompt(run[0], 1)
    assert later.startswith(first[: len(first) - 600])  # the next turn extends the same blocks
    other_run = prompt(Conversation(conv0, "m0", namespace="run-b"), 0)
    assert other_run[:400] != first[:400]
    assert abs(len(first) / CHARS_PER_TOKEN - 9176) < 30  # the recorded size


def test_a_converted_trace_replays_against_sim(tmp_path: Path) -> None:
    """(The simulator caches whole message parts per session, so it does not show the sharing
    inside one prompt message; a block-level prefix cache such as vLLM's does.)"""
    trace = tmp_path / "mc.jsonl"
    runner = CliRunner()
    done = runner.invoke(
        app, ["bench", "convert", str(FIXTURES / "trace.jsonl"), "--from", "mooncake", "-o", str(trace)]
    )
    assert done.exit_code == 0, done.output
    out = tmp_path / "run"
    replayed = runner.invoke(
        app,
        ["bench", "--trace", str(trace), "--target", "sim=sim:instant", "--concurrency", "1", "--arrivals", "none",
         "--token-scale", "0.1", "--out", str(out)],
    )  # fmt: skip
    assert replayed.exit_code == 0, replayed.output
    turns = [json.loads(line) for line in (out / "turns.jsonl").read_text().splitlines()]
    assert len(turns) == 4
    assert all(t["error"] is None for t in turns)
    assert [round(t["prompt_tokens"], -2) for t in turns] == [700, 700, 700, 200]  # the recorded sizes × 0.1


def _agent(name: str, system: str, steps: int) -> Session:
    """A session re-sending its whole history each turn, recorded at ~4 characters a token."""
    turns = []
    for i in range(steps):
        delta = [{"role": "user" if i == 0 else "tool", "content": f"{name} step {i}: " + "output line\n" * 300}]
        if i:
            delta[0]["tool_call_id"] = f"call_{i - 1}"
        turns.append(
            TurnLine(
                session_id=name,
                turn_index=i,
                input=TurnInput(delta_messages=delta),
                output=TurnOutput(
                    message={"role": "assistant", "content": None, "tool_calls": [
                        {"id": f"call_{i}", "type": "function", "function": {"name": "shell", "arguments": "{}"}}]},
                    completion_tokens=40 + i,
                ),
                timing=TurnTiming(t_start=2.0 * i),
            )
        )  # fmt: skip
    session = Session(
        header=SessionLine(
            session_id=name,
            source=Source(kind="test"),
            initial_messages=[{"role": "system", "content": system}],
            arrival_offset_s=0.5 if name == "b" else 0.0,
        ),
        turns=turns,
    )
    for i, turn in enumerate(session.turns):  # the recorded prompt tokens: characters / 4
        turn.input.prompt_tokens = round(len(str(history_at(session, i))) / 4)
    return session


def test_an_export_keeps_the_sharing_and_the_counts_and_converts_back(tmp_path: Path) -> None:
    system = "You are a coding agent. " * 400  # ~9,600 characters shared by both sessions
    sessions = [_agent("a", system, 4), _agent("b", system, 3)]
    rows = export(sessions, block_size=128)
    assert [r["session_id"] for r in rows] == ["a", "b", "a", "b", "a", "b", "a"]  # by time
    assert [r["timestamp"] for r in rows] == [0, 500, 2000, 2500, 4000, 4500, 6000]
    a = [r for r in rows if r["session_id"] == "a"]
    b = [r for r in rows if r["session_id"] == "b"]
    for turns in (a, b):
        for before, after in itertools.pairwise(turns):
            whole = before["hash_ids"][:-1]  # the last block may be partial
            assert after["hash_ids"][: len(whole)] == whole  # the history is re-sent: its blocks too
            assert len(after["hash_ids"]) > len(before["hash_ids"])
    shared = sum(1 for x, y in zip(a[0]["hash_ids"], b[0]["hash_ids"], strict=False) if x == y)
    assert shared >= 9600 // (128 * 4) - 1  # the system prompt's blocks, then the sessions differ
    assert a[0]["hash_ids"][shared] != b[0]["hash_ids"][shared]
    for row, turn in zip(a, sessions[0].turns, strict=True):
        assert row["input_length"] == turn.input.prompt_tokens
        assert row["output_length"] == turn.output.completion_tokens
        assert abs(len(row["hash_ids"]) - row["input_length"] / 128) <= 0.1 * row["input_length"] / 128 + 1
    path = tmp_path / "exported.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    _, back = convert(path, block_size=128)
    assert [t.input.hash_ids for t in back[0].turns] == [r["hash_ids"] for r in a]
    assert [t.input.prompt_tokens for t in back[1].turns] == [r["input_length"] for r in b]
