"""``splitlane bench cache``: the four endpoints, each in front of its own explicit-caching sim."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from splitlane.cli.main import app


def test_the_cache_bench_runs_and_its_figures_follow_the_breakpoints(tmp_path: Path) -> None:
    small = ["--sessions", "1", "--turns", "4", "--output-tokens", "8", "--profile", "instant"]
    result = CliRunner().invoke(app, ["bench", "cache", *small, "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    report = json.loads((tmp_path / "cache.json").read_text())
    by = {t["target"]: t for t in report["targets"]}
    assert set(by) == {"direct", "via", "chat-auto", "chat-off"}
    assert all(t["turns"] == 4 and t["errors"] == 0 for t in by.values())
    # the same-protocol hop changes nothing the cache sees: the same reads and writes as direct
    # (to a few tokens: each target's sessions start with a marker holding the target's name)
    for field in ("billed_cache_read_tokens", "billed_cache_write_tokens", "prompt_tokens"):
        assert abs(by["via"][field] - by["direct"][field]) <= 10
    assert by["direct"]["cache_hit_ratio_after_first"] > 0.8
    # a Chat client caches only with the gateway's breakpoints
    assert by["chat-auto"]["cache_hit_ratio_after_first"] > 0.8
    assert by["chat-off"]["cache_hit_ratio_after_first"] == 0
    assert by["chat-off"]["billed_cache_read_tokens"] == 0
    rows = {(r["measured"], r["baseline"]): r for r in report["comparisons"]}
    assert rows["chat-auto", "chat-off"]["billed_input_ratio"] < 0.5
    assert abs(rows["via", "direct"]["hit_ratio_points"]) < 0.01
