"""``splitlane bench capacity``: the most concurrent agent sessions an endpoint serves within an SLO."""

from __future__ import annotations

from contextlib import ExitStack
from dataclasses import asdict
from pathlib import Path
from typing import Annotated

import orjson
import typer
from rich.console import Console
from rich.table import Table

from splitlane.bench import capacity as bench
from splitlane.bench import plots
from splitlane.bench.replay import TARGET_SYNTAX, GapPolicy, ReplayOptions, parse_target
from splitlane.cli.replaying import launch, load_sessions, out_dir, run_replay

console = Console()


def capacity(
    trace: Annotated[str, typer.Option(help="agentsession/v1 file, or synthetic:PRESET")],
    target: Annotated[str, typer.Option(help=f"{TARGET_SYNTAX}; URL sim:PROFILE?k=v or embedded")],
    slo: Annotated[str, typer.Option(help="bounds the turns must meet, e.g. ttft_p90=5,decode_p50=30")] = (
        "ttft_p90=5,decode_p50=30"
    ),
    levels: Annotated[str, typer.Option(help="concurrent sessions to try, in order")] = "1,2,4,8,16,32",
    max_turns: Annotated[int | None, typer.Option(help="replay only each session's first N turns")] = 6,
    gaps: Annotated[str, typer.Option(help="tool gaps: recorded, none, scale:F, fixed:S")] = "none",
    token_scale: Annotated[float, typer.Option(help="synthetic sessions: sizes × this", min=0.001)] = 1.0,
    seed: Annotated[int, typer.Option(help="random seed (synthetic traces, sim jitter)")] = 0,
    out: Annotated[Path | None, typer.Option(help="results folder (default ./splitlane-bench/<time>-<run>)")] = None,
) -> None:
    """Raise the number of concurrent agent sessions until the SLO breaks: the largest level that
    held, its goodput (turns meeting the SLO per minute) and the curve (capacity.png)."""
    try:
        bounds = bench.parse_slo(slo)
        steps = sorted({int(n) for n in levels.split(",") if n.strip()})
        if not steps or steps[0] < 1:
            raise ValueError("levels are positive session counts, e.g. 1,2,4,8")
        spec = parse_target(target)
        options = ReplayOptions(
            gaps=GapPolicy.parse(gaps, None, True), max_turns=max_turns, token_scale=token_scale, seed=seed
        )
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from exc
    sessions = load_sessions(trace, seed, None)
    folder = out_dir(out, options.run_id)
    table = Table(title=f"splitlane bench capacity — {spec.name}, SLO {slo}")
    for name in ("sessions", "turns", "errors", "TTFT P50 s", "TTFT P90 s", "decode P50 tok/s", "goodput /min", "SLO"):
        table.add_column(name, justify="right")

    def shown(level: bench.Level) -> None:
        held = level.holds(bounds)
        console.print(f"{level.sessions} sessions: {'held' if held else 'broke'} ({level.turns} turns)")
        table.add_row(
            str(level.sessions),
            str(level.turns),
            str(level.errors),
            f"{level.ttft_p50:.2f}",
            f"{level.ttft_p90:.2f}",
            f"{level.decode_p50:.1f}",
            f"{level.goodput_per_min:.1f}",
            "[green]held[/green]" if held else "[red]broke[/red]",
        )

    with ExitStack() as stack:
        launched = launch(spec, stack, seed)
        measured = bench.climb(sessions, launched, options, bounds, steps, run_replay, shown)
    console.print(table)
    best = bench.capacity(measured, bounds)
    held = next((level for level in measured if level.sessions == best), None)
    if held is None:
        console.print(f"capacity: [red]none[/red] — even {steps[0]} session(s) broke the SLO {slo}")
    else:
        console.print(
            f"capacity: [bold]{best}[/bold] concurrent sessions within {slo} "
            f"(goodput {held.goodput_per_min:.1f} turns/min)"
            + ("" if len(measured) < len(steps) or not measured[-1].holds(bounds) else "; no level tried broke it")
        )
    folder.mkdir(parents=True, exist_ok=True)
    document = {"target": spec.name, "slo": slo, "capacity": best, "levels": [asdict(level) for level in measured]}
    (folder / "capacity.json").write_bytes(
        orjson.dumps(document, option=orjson.OPT_INDENT_2 | orjson.OPT_SERIALIZE_NUMPY)
    )
    curve = [(level.sessions, level.ttft_p90, level.decode_p50, level.goodput_per_min) for level in measured]
    limits = {b.metric: b.limit for b in bounds if b.q in (90, 50)}
    console.print(f"plot: {plots.capacity_curve(curve, limits, folder / 'capacity.png')}")
