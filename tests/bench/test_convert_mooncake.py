"""bench/convert/mooncake.py and the block-hash content of bench/content.py. ``trace.jsonl`` holds
the first lines of Mooncake's published trace (as quoted in NVIDIA Dynamo's benchmark docs);
``sessions.jsonl`` the multi-turn ``session_id`` form AIPerf reads (its NAT converter's example
lines, and one more session sharing their first blocks)."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from splitlane.bench.content import Conversation
from splitlane.bench.convert.mooncake import convert
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
