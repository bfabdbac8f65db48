"""``splitlane bench load``, small: a real gateway process, concurrent streaming sessions, every
turn answered and every turn's telemetry row stored."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from splitlane.bench.load import LoadSettings, run_load
from splitlane.cli.main import app


def test_every_turn_is_answered_and_recorded(tmp_path: Path) -> None:
    outcome = run_load(LoadSettings(tmp_path, sessions=12, duration_s=3, warmup_s=1, gap_s=0.2), lambda _: None)
    assert outcome.requests > 12
    assert not outcome.errors
    assert outcome.rows == {"ok": outcome.requests}
    assert outcome.lost_rows == 0
    assert outcome.rss_after_warmup > 0
    assert outcome.rss_after_run > 0


def test_cli_writes_its_figures(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app, ["bench", "load", "--sessions", "4", "--duration", "1", "--warmup", "0", "--out", str(tmp_path)]
    )
    assert (tmp_path / "load.json").exists(), result.output
    assert "lost telemetry rows" in result.output
