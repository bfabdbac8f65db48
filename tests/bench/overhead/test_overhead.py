"""``splitlane bench overhead`` end to end (direct, same-API and translating gateway; LiteLLM is
installed by the command itself on first use and is left to the documented run), and its parts."""

from __future__ import annotations

import asyncio
import math
import re
from pathlib import Path

import httpx
import orjson
import psutil
import pytest
from typer.testing import CliRunner

from splitlane.bench.overhead.load import MARK, Marks, Sample, chunks_in, measured, run_phase
from splitlane.bench.overhead.profile import costs
from splitlane.bench.overhead.report import LatencyRow, ratios
from splitlane.bench.overhead.run import Target
from splitlane.bench.overhead.servers import (
    PORTKEY_VERSION,
    bare_proxy,
    litellm_config,
    portkey,
    portkey_headers,
    portkey_install,
    splitlane_config,
    upstream,
)
from splitlane.cli.main import app

QUICK = [
    "bench", "overhead", "--targets", "direct,bare,splitlane,translate", "--levels", "1,4", "--rounds", "2",
    "--phase-s", "0.4", "--warmup-s", "0.1", "--chunks", "4", "--interval-ms", "5", "--burst-chunks", "24",
    "--saturation", "4",
]  # fmt: skip


def test_quick_run_measures_every_target_with_no_lost_chunk(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, [*QUICK, "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    doc = orjson.loads((tmp_path / "overhead.json").read_bytes())
    assert (tmp_path / "overhead.png").stat().st_size > 10_000
    cells = {(r["target"], r["concurrency"]): r for r in doc["latency"]}
    assert set(cells) == {(t, c) for t in ("direct", "bare", "splitlane", "translate") for c in (1, 4)}
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
    for name in ("bare", "splitlane", "translate"):
        assert saturation[name]["errors"] == 0
        assert saturation[name]["chunks_per_s"] > 0
        assert 0 < saturation[name]["cpu_s_per_1k_chunks"] < 10
        assert saturation[name]["peak_rss_mb"] > 20
    assert doc["ratios"]["translate_vs_splitlane_added_ttft_p50"] is not None
    assert doc["ratios"]["splitlane_vs_bare_chunks_per_s"] > 0
    assert doc["settings"]["staggered"] is True
    assert "streams staggered" in result.output
    assert "splitlane" in result.output
    assert "Saturation" in result.output


def test_the_bare_proxy_forwards_the_upstream_stream_unchanged(tmp_path: Path) -> None:
    body = {"model": "burst", "max_tokens": 5, "messages": [{"role": "user", "content": "hi"}], "stream": True}
    with upstream(tmp_path, 1.0) as up, bare_proxy(tmp_path, up.url) as bare:
        direct = httpx.post(f"{up.url}/v1/chat/completions", json=body)
        proxied = httpx.post(f"{bare.url}/v1/chat/completions", json=body)
        models = httpx.get(f"{bare.url}/v1/models")
    assert proxied.status_code == direct.status_code == 200
    assert proxied.headers["content-type"] == direct.headers["content-type"]

    def unstamped(text: str) -> str:  # each response carries its own creation time
        return re.sub(r'"created":\d+', "", text)

    assert unstamped(proxied.text) == unstamped(direct.text)
    assert proxied.text.endswith("data: [DONE]\n\n")
    assert models.status_code == 200


def test_staggered_streams_start_spread_over_the_given_time(tmp_path: Path) -> None:
    with upstream(tmp_path, 1.0) as up:
        endpoint = Target("direct", "chat", up, gateway=False).endpoint("paced", 2, 100)
        # one request per connection (the gap outlasts the window); connection i waits i/4 × 0.4 s
        samples, window_start, _ = asyncio.run(run_phase([endpoint], 4, 0.01, 0.5, 10, gap_s=1.0, stagger_s=0.4))
    start = window_start - 0.5  # the window opens after the warm-up
    sends = sorted(s.sent - start for s in samples)
    assert len(sends) == 4
    for i, sent in enumerate(sends):
        assert sent >= 0.1 * i - 0.005, sends


def test_bad_options_are_refused() -> None:
    runner = CliRunner()
    for args in (["--targets", "direct,nginx"], ["--levels", "1,x"], ["--levels", "0"]):
        result = runner.invoke(app, ["bench", "overhead", *args])
        assert result.exit_code == 2, result.output


def test_a_mark_split_across_reads_counts_once() -> None:
    marks = Marks(Sample(0.0))
    data = b'data: {"content":"lorem "}\n\n' * 3
    cut = data.index(MARK) + 2
    for piece in (data[:cut], data[cut : cut + 1], data[cut + 1 :]):
        marks.feed(piece, 1.0)
    assert len(marks.sample.chunks) == 3


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


def _row(target: str, p50: float, p99: float) -> LatencyRow:
    return LatencyRow(target, 16, 100, 0, 20 + p50, 20 + p99, 20, 20, p50, p99, 0, 0, 800)


def test_a_ratio_over_a_baseline_inside_the_noise_is_left_out() -> None:
    rows = [_row("bare", 1.1, -0.4), _row("splitlane", 3.9, 4.3), _row("litellm", 517, 976)]
    out = ratios(rows, [], 16)
    assert out["splitlane_vs_bare_added_ttft_p50"] == 3.9 / 1.1
    assert "splitlane_vs_bare_added_ttft_p99" not in out  # the bare hop beat direct's tail: no baseline
    assert out["litellm_vs_splitlane_added_ttft_p99"] == 976 / 4.3


def test_portkey_is_installed_by_the_command_and_measured_on_loopback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # installs @portkey-ai/gateway (pinned, with its pinned server) from npm into SPLITLANE_HOME, as a user's run does
    monkeypatch.setenv("SPLITLANE_HOME", str(tmp_path / "home"))
    folder = portkey_install(tmp_path / "home", PORTKEY_VERSION, lambda _: None)
    with upstream(tmp_path, 1.0) as up, portkey(tmp_path, folder) as gateway:
        listening = [
            c.laddr for c in psutil.Process(gateway.pid).net_connections(kind="tcp") if c.status == psutil.CONN_LISTEN
        ]
        assert [a.ip for a in listening] == ["127.0.0.1"]  # never on every interface
        body = {"model": "burst", "max_tokens": 5, "messages": [{"role": "user", "content": "hi"}], "stream": True}
        direct = httpx.post(f"{up.url}/v1/chat/completions", json=body)
        through = httpx.post(f"{gateway.url}/v1/chat/completions", json=body, headers=portkey_headers(up.url))
    assert through.status_code == 200, through.text
    assert through.headers["content-type"].startswith("text/event-stream")
    assert through.text.count(MARK.decode()) == direct.text.count(MARK.decode()) == 5
    out = tmp_path / "run"
    quick = [*QUICK[:3], "direct,portkey", *QUICK[4:]]
    result = CliRunner().invoke(app, [*quick, "--out", str(out)])
    assert result.exit_code == 0, result.output
    doc = orjson.loads((out / "overhead.json").read_bytes())
    rows = [r for r in doc["latency"] if r["target"] == "portkey"]
    assert rows
    assert all(r["errors"] == 0 and r["requests"] > 0 for r in rows)
    [saturated] = [r for r in doc["saturation"] if r["target"] == "portkey"]
    assert saturated["errors"] == 0
    assert 0 < saturated["cpu_s_per_1k_chunks"] < 10  # the node process is measured like the Python ones
