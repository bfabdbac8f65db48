"""A replay run from the CLI: the sessions against the targets, one progress bar per target."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from splitlane.bench.replay import Replay, ReplayOptions, Target, TurnResult
from splitlane.bench.trace import Session

console = Console()


def run_replay(sessions: Sequence[Session], targets: Sequence[Target], options: ReplayOptions) -> list[TurnResult]:
    replay = Replay(sessions, targets, options)
    per_target = replay.turns_total()
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console, transient=False) as progress:
        tasks = {t.name: progress.add_task(f"{t.name} turns", total=per_target) for t in targets}
        errors = {t.name: 0 for t in targets}

        def advance(result: TurnResult) -> None:
            errors[result.target] += bool(result.error)
            suffix = f" [red]({errors[result.target]} errors)[/red]" if errors[result.target] else ""
            progress.update(tasks[result.target], advance=1, description=f"{result.target} turns{suffix}")

        replay.on_turn = advance
        results = asyncio.run(replay.run())
    for name, count in replay.diverged.items():
        if count:
            console.print(f"[yellow]{name}: {count} live replies diverged from the trace (recorded ones kept)[/yellow]")
    return results
