"""``splitlane bench limits``: the per-key limit work of a turn, in memory and shared through
PostgreSQL by one and two replicas, side by side (ratios against ``local``)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated

import orjson
import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from splitlane.bench import limits as bench
from splitlane.store.database import redact_url
from splitlane.telemetry.metrics import percentile

console = Console()


def limits(
    database: Annotated[str, typer.Option(help="A PostgreSQL URL (postgresql://user:password@host/db).")],
    turns: Annotated[int, typer.Option(help="Turns per run.", min=10)] = 400,
    concurrency: Annotated[str, typer.Option(help="Turns in flight, comma-separated levels.")] = "1,16",
    rounds: Annotated[int, typer.Option(help="Interleaved rounds of every keeper and level.", min=1)] = 3,
    out: Annotated[Path, typer.Option(help="Where limits.json goes.")] = Path("bench-limits"),
) -> None:
    """Admit, charge and release a key with every limit on, `turns` times per run: this process's
    counts (`local`, the baseline), PostgreSQL for one replica (`shared`) and two replicas on one key
    at once (`shared x2`, their admissions serialized by the key's lock). Writes the migrations'
    tables of that database; the bench key's rows are deleted after."""
    if not database.startswith(("postgresql://", "postgres://")):
        raise typer.BadParameter(
            "shared limits are kept in PostgreSQL: give a postgresql:// URL", param_hint="--database"
        )
    levels = [int(c) for c in concurrency.split(",") if c.strip()]
    total = rounds * len(levels) * len(bench.KEEPERS) * turns
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console) as progress:
        task = progress.add_task("turns", total=total)
        runs = asyncio.run(bench.measure(database, turns, levels, rounds, lambda: progress.advance(task)))
    table = Table(title=f"splitlane bench limits — {turns} turns × {rounds} rounds, {redact_url(database)}")
    for name in ("keeper", "in flight", "µs P50", "µs P90", "turns/s", "P50 vs local", "turns/s vs local"):
        table.add_column(name, justify="left" if name == "keeper" else "right")
    summary: dict[str, dict[str, float]] = {}
    for level in levels:
        for keeper in bench.KEEPERS:
            mine = [r for r in runs if r.keeper == keeper and r.concurrency == level]
            seconds = [s for r in mine for s in r.seconds]
            summary[f"{keeper} c={level}"] = {
                "p50_us": percentile(seconds, 50) * 1e6,
                "p90_us": percentile(seconds, 90) * 1e6,
                "turns_per_s": len(seconds) / sum(r.wall_s for r in mine),
            }
        base = summary[f"local c={level}"]
        for keeper in bench.KEEPERS:
            row = summary[f"{keeper} c={level}"]
            table.add_row(
                keeper,
                str(level),
                f"{row['p50_us']:,.0f}",
                f"{row['p90_us']:,.0f}",
                f"{row['turns_per_s']:,.0f}",
                f"{row['p50_us'] / base['p50_us']:.1f}x",
                f"{row['turns_per_s'] / base['turns_per_s']:.3f}",
            )
    console.print(table)
    out.mkdir(parents=True, exist_ok=True)
    (out / "limits.json").write_bytes(orjson.dumps(summary, option=orjson.OPT_INDENT_2))
    console.print(f"wrote {out / 'limits.json'}")
