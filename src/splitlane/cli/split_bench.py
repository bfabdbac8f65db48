"""``splitlane bench split``: one trace, three arrangements of the lanes, side by side."""

from __future__ import annotations

import asyncio
import dataclasses
from contextlib import ExitStack
from pathlib import Path
from typing import Annotated

import orjson
import typer
from rich.console import Console

from splitlane.bench.in_process import serve_config
from splitlane.bench.replay import GapPolicy, ReplayOptions, Target
from splitlane.bench.split import ALIAS, ARRANGEMENTS, SPLIT_ROWS, Spend, data_dirs, split_config, stored, upstream_spec
from splitlane.cli.replaying import load_sessions, out_dir, publish, run_replay

console = Console()


def split(
    trace: Annotated[str, typer.Option(help="agentsession/v1 file, or synthetic:PRESET")] = "synthetic:agentic",
    plan: Annotated[
        str, typer.Option(help="the plan upstream: sim:PROFILE?k=v, or URL[,kind=…][,model=…][,key_env=…]")
    ] = "sim:frontier?decode_tps=75",
    act: Annotated[str, typer.Option(help="the act upstream, same forms")] = "sim:fast?decode_tps=400",
    plan_turns: Annotated[
        int, typer.Option(help="synthetic traces: the opening turns of each session in plan mode", min=0)
    ] = 10,
    sessions: Annotated[int | None, typer.Option(help="replay only the first N sessions")] = 4,
    max_turns: Annotated[int | None, typer.Option(help="replay only the first N turns of each session")] = None,
    concurrency: Annotated[int, typer.Option(help="sessions in flight per arrangement")] = 4,
    gaps: Annotated[str, typer.Option(help="recorded | none | scale:F | fixed:S")] = "recorded",
    token_scale: Annotated[float, typer.Option(help="scale synthetic prompt and output sizes")] = 1.0,
    seed: Annotated[int, typer.Option(help="seed for synthetic traces and sim jitter")] = 0,
    out: Annotated[Path | None, typer.Option(help="results folder (default ./splitlane-bench/<time>-<run>)")] = None,
    plot: Annotated[bool, typer.Option(help="write PNG plots")] = True,
) -> None:
    """Replay one trace three ways — every turn on the plan upstream, every turn on the act upstream,
    and the split (lanes as classified) — and compare session wall, effective tok/s and cost."""
    try:
        plan_spec, act_spec = upstream_spec(plan), upstream_spec(act)
        options = ReplayOptions(
            concurrency=concurrency,
            arrivals="none",
            gaps=GapPolicy.parse(gaps, None, True),
            max_turns=max_turns,
            token_scale=token_scale,
            seed=seed,
        )
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from exc
    loaded = load_sessions(trace, seed, sessions, {"plan_turns": str(plan_turns)})
    folder = out_dir(out, options.run_id)
    names = list(ARRANGEMENTS)
    with data_dirs() as dirs:
        with ExitStack() as stack:
            targets = [
                Target(
                    name,
                    stack.enter_context(serve_config(split_config(name, plan_spec, act_spec, dirs[name]))),
                    "chat",
                    ALIAS,
                )
                for name in names
            ]
            console.print(
                f"split run {options.run_id}: {len(loaded)} sessions × {len(names)} arrangements, plan = {plan}, "
                f"act = {act}, concurrency {concurrency}, gaps {gaps}"
            )
            results = run_replay(loaded, targets, options)
        spends = {name: Spend.of(asyncio.run(stored(dirs[name]))) for name in names}  # the gateways have flushed
    stats = {name: spends[name].stats() for name in names}
    files, summary = publish(
        results, names, folder, f"split {options.run_id}: {trace}", plot, extra=(stats, SPLIT_ROWS)
    )
    if plot:
        from splitlane.bench import plots

        files.append(plots.split_arrangements(names, summary, stats, folder / "split.png"))
    record = {name: {**stats[name], **dataclasses.asdict(spends[name])} for name in names}
    (folder / "split.json").write_bytes(orjson.dumps(record, option=orjson.OPT_INDENT_2))
    console.print(f"wrote split.json{', split.png' if plot else ''} to {folder}")
    if any(r.error for r in results):
        raise typer.Exit(1)
