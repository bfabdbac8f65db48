"""``splitlane bench quality``: the packaged models on 20 fixed prompts, replies written for a person."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Annotated

import orjson
import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from splitlane.bench import quality as bench
from splitlane.engine.models import MODELS

console = Console()


def quality(
    models: Annotated[str, typer.Option(help=f"Comma-separated packaged models ({', '.join(MODELS)}).")] = ",".join(
        MODELS
    ),
    max_tokens: Annotated[int, typer.Option(help="Max output tokens per reply.", min=1)] = 160,
    seed: Annotated[int, typer.Option(help="The sampling seed of every request.")] = 0,
    threads: Annotated[int | None, typer.Option(help="Engine threads (default: all CPUs).", min=1)] = None,
    out: Annotated[Path, typer.Option(help="Where quality.md and quality.json go.")] = Path("bench-quality"),
) -> None:
    """Each packaged model answers the same 20 prompts (coding questions, tool calls, short
    instructions) through the embedded engine as the gateway runs it; a rough check counts, the
    replies in quality.md are for a person to read."""
    chosen = [m.strip() for m in models.split(",") if m.strip()]
    bad = [m for m in chosen if m not in MODELS]
    if bad or not chosen:
        raise typer.BadParameter(
            f"choose from {', '.join(MODELS)} (got {', '.join(bad) or 'none'})", param_hint="--models"
        )
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console) as progress:
        task = progress.add_task("loading", total=len(chosen) * len(bench.PROMPTS))

        def tick(label: str) -> None:
            progress.update(task, description=label, completed=progress.tasks[task].completed + 1)

        replies = asyncio.run(bench.run(chosen, max_tokens, seed, threads, tick))
    table = Table(title="splitlane bench quality — 20 fixed prompts, each model's own sampling, one seed")
    for name in ("model", "checks passed", "mean output tokens", "mean seconds"):
        table.add_column(name, justify="left" if name == "model" else "right")
    for model in chosen:
        mine = [r for r in replies if r.model == model]
        table.add_row(
            model,
            f"{sum(r.passed for r in mine)} / {len(mine)}",
            f"{sum(r.output_tokens for r in mine) / len(mine):.0f}",
            f"{sum(r.seconds for r in mine) / len(mine):.2f}",
        )
    console.print(table)
    out.mkdir(parents=True, exist_ok=True)
    (out / "quality.md").write_text(bench.markdown(replies, chosen))
    (out / "quality.json").write_bytes(orjson.dumps([r.to_json() for r in replies], option=orjson.OPT_INDENT_2))
    console.print(f"replies: {out / 'quality.md'}")
