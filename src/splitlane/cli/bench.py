"""``splitlane bench``: session traces (convert now; replay against endpoints comes next)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from splitlane.bench.convert import swe_agent, tracelab
from splitlane.bench.trace import write_trace

bench_app = typer.Typer(help="Session benchmarks on agent traces.", no_args_is_help=True)
CONVERTERS = {"swe-agent": swe_agent.convert, "tracelab": tracelab.convert}


@bench_app.command()
def convert(
    source: Annotated[Path, typer.Argument(help="a trajectory or trace file", exists=True, dir_okay=False)],
    output: Annotated[Path, typer.Option("--output", "-o", help="agentsession/v1 JSONL (.gz to compress)")],
    kind: Annotated[str, typer.Option("--from", help="swe-agent | tracelab")] = "swe-agent",
) -> None:
    """Convert a recorded trajectory to the agentsession/v1 trace format."""
    if kind not in CONVERTERS:
        raise typer.BadParameter(f"one of {', '.join(CONVERTERS)}", param_hint="--from")
    header, sessions = CONVERTERS[kind](source)
    write_trace(output, header, sessions)
    table = Table("session", "turns", "prompt tokens (first → last)", "output tokens", title=f"wrote {output}")
    for session in sessions:
        prompts = [t.input.prompt_tokens or 0 for t in session.turns]
        table.add_row(
            session.header.session_id,
            str(len(session.turns)),
            f"{prompts[0]:,} → {prompts[-1]:,}",
            f"{sum(t.output.completion_tokens for t in session.turns):,}",
        )
    Console().print(table)
