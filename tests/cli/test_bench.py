"""``splitlane bench`` end to end: in-process simulators, the table, the records and the plots."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from typer.testing import CliRunner

from splitlane.bench.synthetic import PRESETS, generate
from splitlane.bench.trace import read_trace
from splitlane.cli.main import app

runner = CliRunner()
SMALL = ["--sessions", "2", "--max-turns", "3", "--gaps", "none"]


def test_two_sim_targets_side_by_side(tmp_path: Path) -> None:
    out = tmp_path / "run"
    result = runner.invoke(
        app,
        ["bench", "--trace", "synthetic:tiny", *SMALL, "--target", "slow=sim:instant?decode_tps=2000",
         "--target", "quick=sim:instant?decode_tps=20000", "--out", str(out)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "quick/slow" in result.output  # the ratio column against the first target
    assert {p.name for p in out.iterdir()} >= {
        "turns.jsonl", "turns.csv", "sessions.jsonl", "sessions.csv", "summary.csv",
        "effective_tps.png", "time_split.png", "ttft_over_turns.png",
    }  # fmt: skip
    turns = [json.loads(line) for line in (out / "turns.jsonl").read_text().splitlines()]
    assert len(turns) == 2 * 2 * 3
    assert {t["endpoint"] for t in turns} == {"slow", "quick"}
    assert all(t["error"] is None and t["ttft"] is not None for t in turns)
    with (out / "sessions.csv").open() as handle:
        sessions = list(csv.DictReader(handle))
    assert len(sessions) == 4
    assert all(float(s["effective_tps"]) > 0 for s in sessions)
    assert (out / "time_split.png").read_bytes()[:4] == b"\x89PNG"


def test_synth_then_replay_the_file(tmp_path: Path) -> None:
    trace = tmp_path / "t.jsonl.gz"
    result = runner.invoke(
        app, ["bench", "synth", "-o", str(trace), "--preset", "tiny", "--sessions", "3", "--seed", "4"]
    )
    assert result.exit_code == 0, result.output
    assert len(read_trace(trace)[1]) == 3
    result = runner.invoke(
        app,
        [
            "bench",
            "--trace",
            str(trace),
            *SMALL,
            "--target",
            "s=sim:instant,api=messages",
            "--out",
            str(tmp_path / "r"),
            "--no-plot",
        ],
    )
    assert result.exit_code == 0, result.output
    assert not list((tmp_path / "r").glob("*.png"))


def test_sweep_makes_one_target_per_value_and_a_plot(tmp_path: Path) -> None:
    out = tmp_path / "sweep"
    result = runner.invoke(
        app,
        ["bench", "--trace", "synthetic:tiny", *SMALL, "--sweep", "decode_tps=1000,10000", "--sim", "instant",
         "--out", str(out)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    with (out / "summary.csv").open() as handle:
        rows = {r["endpoint"]: float(r["mean_decode_s"]) for r in csv.DictReader(handle)}
    assert set(rows) == {"decode_tps=1000", "decode_tps=10000"}
    assert rows["decode_tps=1000"] > rows["decode_tps=10000"]  # ten times the decode rate, less decode time
    assert (out / "sweep.png").exists()


def test_bad_arguments_are_named() -> None:
    result = runner.invoke(app, ["bench", "--trace", "synthetic:tiny", "--target", "nourl"])
    assert result.exit_code == 2
    assert "--target" in result.output
    result = runner.invoke(app, ["bench", "--trace", "synthetic:huge", "--target", "a=sim:fast"])
    assert result.exit_code == 2
    assert "unknown preset" in result.output
    result = runner.invoke(app, ["bench", "--trace", "synthetic:tiny", "--target", "a=sim:warp"])
    assert result.exit_code == 2
    assert "unknown sim profile" in result.output


def test_a_failing_target_fails_the_command(tmp_path: Path) -> None:
    result = runner.invoke(
        app,
        ["bench", "--trace", "synthetic:tiny", *SMALL, "--target", "down=http://127.0.0.1:9", "--out", str(tmp_path)],
    )
    assert result.exit_code == 1
    assert "errors" in result.output


def test_the_embedded_engine_as_a_target_generates_exactly_the_recorded_lengths(tmp_path: Path) -> None:
    """`embedded?…` starts the gateway on the real engine; recorded output asks for the recorded
    length with ignore_eos, so the engine's usage must equal the trace's completion tokens."""
    out = tmp_path / "engine"
    result = runner.invoke(
        app,
        ["bench", "--trace", "synthetic:tiny", "--sessions", "1", "--max-turns", "2", "--gaps", "none",
         "--target", "e=embedded?n_ctx=4096", "--out", str(out), "--no-plot"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    turns = [json.loads(line) for line in (out / "turns.jsonl").read_text().splitlines()]
    (session,) = generate(PRESETS["tiny"].with_overrides({"sessions": "1"}), 0, "tiny")[1]
    assert [t["completion_tokens"] for t in turns] == [t.output.completion_tokens for t in session.turns[:2]]
    assert all(t["completion_tokens_source"] == "usage" for t in turns)
    assert turns[1]["cached_tokens"] > 0  # the engine reused the first turn's prefix


def test_bench_websocket_prints_the_ratios_and_writes_its_records(tmp_path: Path) -> None:
    out = tmp_path / "ws"
    result = runner.invoke(app, ["bench", "websocket", "--turns", "3", "--rounds", "1", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "websocket / http (baseline: http" in result.output
    document = json.loads((out / "websocket.json").read_text())
    assert document["ratios"]["bytes_websocket_over_http"] < 1
    assert len(document["samples"]) == 2 * 3
    assert (out / "websocket.png").read_bytes()[:4] == b"\x89PNG"
