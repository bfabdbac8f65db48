"""``splitlane bench load``: N streaming sessions against ``splitlane serve`` on a simulated
upstream; errors, lost telemetry rows and RSS growth."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Annotated

import orjson
import typer
from rich.console import Console
from rich.table import Table

from splitlane.bench.load import LoadOutcome, LoadSettings, run_load
from splitlane.bench.processes import ServerError

console = Console()
RSS_LIMIT = 0.05


def load(
    sessions: Annotated[int, typer.Option(min=1, max=2000, help="streaming sessions at once")] = 200,
    duration: Annotated[float, typer.Option(min=1, help="seconds measured")] = 60.0,
    warmup: Annotated[float, typer.Option(min=0, help="seconds before (RSS is taken after it)")] = 10.0,
    gap: Annotated[float, typer.Option(min=0, help="seconds between one session's turns")] = 1.0,
    max_tokens: Annotated[int, typer.Option(min=1, help="output tokens per turn")] = 64,
    out: Annotated[Path, typer.Option(help="where load.json goes")] = Path("bench-load"),
) -> None:
    """Soak the gateway on loopback: 0 errors, 0 lost telemetry rows, RSS growth under 5%."""
    with tempfile.TemporaryDirectory(prefix="splitlane-load-") as tmp:
        settings = LoadSettings(Path(tmp), sessions, duration, warmup, gap, max_tokens)
        try:
            with console.status("starting") as status:
                outcome = run_load(settings, lambda line: status.update(line))
        except ServerError as exc:
            console.print(f"[red]error:[/] {exc}")
            raise typer.Exit(1) from exc
    console.print(_table(outcome))
    out.mkdir(parents=True, exist_ok=True)
    (out / "load.json").write_bytes(orjson.dumps(outcome.as_json(), option=orjson.OPT_INDENT_2))
    console.print(f"wrote {out / 'load.json'}")
    if outcome.errors or outcome.lost_rows or outcome.rss_growth >= RSS_LIMIT:
        raise typer.Exit(1)


def _table(outcome: LoadOutcome) -> Table:
    table = Table("", "measured", "target", title=f"{outcome.sessions} sessions, {outcome.duration_s:g} s")
    ok = "[green]✓[/]"
    bad = "[red]✗[/]"
    table.add_row("turns sent", f"{outcome.requests:,} ({outcome.turns_per_s:.0f}/s in the measured window)", "")
    errors = sum(outcome.errors.values())
    first = next(iter(outcome.errors), "")
    table.add_row("errors", f"{errors} {first}", f"0 {ok if not errors else bad}")
    rows = ", ".join(f"{n:,} {status}" for status, n in sorted(outcome.rows.items()))
    table.add_row("telemetry rows", rows, "")
    table.add_row("lost telemetry rows", str(outcome.lost_rows), f"0 {ok if not outcome.lost_rows else bad}")
    growth = outcome.rss_growth
    table.add_row(
        "gateway RSS after warm-up → after run",
        f"{outcome.rss_after_warmup / 2**20:.1f} → {outcome.rss_after_run / 2**20:.1f} MiB ({growth:+.1%})",
        f"< {RSS_LIMIT:.0%} {ok if growth < RSS_LIMIT else bad}",
    )
    return table
