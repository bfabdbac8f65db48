"""``splitlane bench overhead`` end to end (direct, same-API and translating gateway; LiteLLM is
installed by the command itself on first use and is left to the documented run), and its parts."""

from __future__ import annotations

import math
from pathlib import Path

import orjson
from typer.testing import CliRunner

from splitlane.bench.overhead.load import MARK, Sample, _Connection, chunks_in, measured
from splitlane.bench.overhead.profile import costs
from splitlane.bench.overhead.servers import litellm_config, splitlane_config
from splitlane.cli.main import app

QUICK = [
    "bench", "overhead", "--targets", "direct,splitlane,translate", "--levels", "1,4", "--rounds", "2",
    "--phase-s", "0.4", "--warmup-s", "0.1", "--chunks", "4", "--interval-ms", "5", "--burst-chunks", "24",
    "--saturation", "4",
]  # fmt: skip


def test_quick_run_measures_every_target_with_no_lost_chunk(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, [*QUICK, "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    doc = orjson.loads((tmp_path / "overhead.json").read_bytes())
    assert (tmp_path / "overhead.png").stat().st_size > 10_000
    cells = {(r["target"], r["concurrency"]): r for r in doc["latency"]}
    assert set(cells) == {(t, c) for t in ("direct", "splitlane", "translate") for c in (1, 4)}
    for row in doc["latency"]:
        # every request streamed exactly the chunks the upstream sent, through either surface
        assert row["requests"] > 0, row
        assert row["errors"] == 0, row
        assert row["ttft_p50_ms"] > 0
        assert row["gap_p50_ms"] > 0
        if row["target"] == "direct":
            assert row["added_ttft_p50_ms"] == 0
    saturation = {r["target"]: r for r in doc["saturation"]}
    assert saturation["direct"]["cpu_s_per_1k_chunks"] is None  # no gateway process to measure
    for name in ("splitlane", "translate"):
        assert saturation[name]["errors"] == 0
        assert saturation[name]["chunks_per_s"] > 0
        assert 0 < saturation[name]["cpu_s_per_1k_chunks"] < 10
        assert saturation[name]["peak_rss_mb"] > 20
    assert doc["ratios"]["translate_vs_splitlane_added_ttft_p50"] is not None
    assert "splitlane" in result.output
    assert "Saturation" in result.output


def test_bad_options_are_refused() -> None:
    runner = CliRunner()
    for args in (["--targets", "direct,nginx"], ["--levels", "1,x"], ["--levels", "0"]):
        result = runner.invoke(app, ["bench", "overhead", *args])
        assert result.exit_code == 2, result.output


def test_a_mark_split_across_reads_counts_once() -> None:
    connection = _Connection()
    connection.sample = Sample(0.0)
    data = b'data: {"content":"lorem "}\n\n' * 3
    cut = data.index(MARK) + 2
    for piece in (data[:cut], data[cut : cut + 1], data[cut + 1 :]):
        connection.on_body(piece)
    assert len(connection.sample.chunks) == 3


def test_windows_select_latency_samples_and_chunks() -> None:
    early, inside = Sample(0.5, [0.9, 1.1, 1.6]), Sample(1.2, [1.3, 2.5])
    assert measured([early, inside], (1.0, 2.0)) == [inside]
    assert chunks_in([early, inside], (1.0, 2.0)) == 3
    assert inside.ttft is not None
    assert math.isclose(inside.ttft, 0.1)


def test_profile_costs_from_raw_stacks() -> None:
    raw = (
        "main (app.py:1);handle (splitlane/api/turn.py:10);dumps (json/encoder.py:5) 30\n"
        "main (app.py:1);handle (splitlane/api/turn.py:12) 50\n"
        "main (app.py:1);poll (asyncio/base_events.py:9) 20\n"
    )
    top = costs(raw)
    assert [c.function for c in top] == [
        "handle (api/turn.py)",
        "dumps (json/encoder.py)",
        "poll (asyncio/base_events.py)",
    ]
    assert math.isclose(top[0].own, 0.5)
    assert math.isclose(top[0].total, 0.8)


def test_both_gateways_point_at_the_same_upstream(tmp_path: Path) -> None:
    url = "http://127.0.0.1:9"
    assert f'base_url = "{url}/v1"' in splitlane_config(url, tmp_path)
    assert litellm_config(url).count(f"api_base: {url}/v1") == 2
