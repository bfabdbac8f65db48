"""``splitlane bench``: replay agent sessions against endpoints side by side; convert and synthesize
traces; sweep a simulated upstream's parameter; check the measurement against the simulator."""

from __future__ import annotations

import webbrowser
from collections.abc import Sequence
from contextlib import ExitStack
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from splitlane.bench.convert import claude_code, codex, mooncake, swe_agent, tracelab
from splitlane.bench.costs import session_costs, target_price
from splitlane.bench.replay import TARGET_SYNTAX, GapPolicy, ReplayOptions, Target, TurnResult, parse_target
from splitlane.bench.report import COST_ROWS
from splitlane.bench.synthetic import PRESETS, generate
from splitlane.bench.trace import Session, write_trace
from splitlane.cli.cache_bench import cache
from splitlane.cli.capacity_bench import capacity
from splitlane.cli.engine_bench import engine
from splitlane.cli.limits_bench import limits
from splitlane.cli.load import load
from splitlane.cli.options import parse_pairs
from splitlane.cli.overhead import overhead
from splitlane.cli.quality_bench import quality
from splitlane.cli.replaying import launch, load_sessions, out_dir, publish, run_replay
from splitlane.cli.routing_bench import routing
from splitlane.cli.split_bench import split
from splitlane.cli.transports_bench import websocket
from splitlane.engine.models import DEFAULT_MODEL, MODELS

bench_app = typer.Typer(
    help="Session benchmarks: replay agent traces against endpoints side by side.", invoke_without_command=True
)
bench_app.command()(overhead)
bench_app.command()(engine)
bench_app.command()(load)
bench_app.command()(cache)
bench_app.command()(routing)
bench_app.command()(quality)
bench_app.command()(split)
bench_app.command()(websocket)
bench_app.command()(capacity)
bench_app.command()(limits)
CONVERTERS = {
    "swe-agent": swe_agent.convert,
    "tracelab": tracelab.convert,
    "claude-code": claude_code.convert,
    "codex": codex.convert,
    "mooncake": mooncake.convert,
}
FILES = {
    "swe-agent": "*.traj",
    "tracelab": "*.jsonl",
    "claude-code": "*.jsonl",
    "codex": "rollout-*.jsonl",
    "mooncake": "*.jsonl",
}
console = Console()


def _parsed(spec: str) -> Target:
    try:
        return parse_target(spec)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--target") from exc


@bench_app.callback()
def bench(
    ctx: typer.Context,
    trace: Annotated[str | None, typer.Option(help="agentsession/v1 file, or synthetic:PRESET")] = None,
    target: Annotated[list[str] | None, typer.Option(help=f"{TARGET_SYNTAX}; URL sim:PROFILE?k=v or embedded")] = None,
    sweep: Annotated[str | None, typer.Option(help="PARAM=V1,V2,… of the --sim profile, one target each")] = None,
    sim: Annotated[str, typer.Option(help="with --sweep: the sim profile to vary")] = "fast",
    sim_set: Annotated[list[str] | None, typer.Option("--sim-set", help="with --sweep: fixed overrides k=v")] = None,
    concurrency: Annotated[int, typer.Option(help="sessions in flight per target")] = 4,
    arrivals: Annotated[str, typer.Option(help="trace | none (all at once) | a rate in sessions/s")] = "trace",
    output: Annotated[str, typer.Option("--output", help="recorded (same prompts everywhere) | live")] = "recorded",
    gaps: Annotated[str, typer.Option(help="recorded | none | scale:F | fixed:S")] = "recorded",
    gap_cap: Annotated[float | None, typer.Option(help="cap on any one gap (s)")] = None,
    human_gaps: Annotated[bool, typer.Option(help="keep gaps recorded as human time")] = True,
    sessions: Annotated[int | None, typer.Option(help="replay only the first N sessions")] = None,
    max_turns: Annotated[int | None, typer.Option(help="replay only the first N turns of each session")] = None,
    token_scale: Annotated[float, typer.Option(help="scale synthetic prompt and output sizes (small engines)")] = 1.0,
    seed: Annotated[int, typer.Option(help="seed for synthetic traces, arrivals and sim jitter")] = 0,
    out: Annotated[Path | None, typer.Option(help="results folder (default ./splitlane-bench/<time>-<run>)")] = None,
    plot: Annotated[bool, typer.Option(help="write PNG plots")] = True,
    open_plots: Annotated[bool, typer.Option("--open", help="open the plots when done")] = False,
) -> None:
    """Replay sessions against every --target at once and compare them, the first being the baseline."""
    if ctx.invoked_subcommand is not None:
        return
    if trace is None or not (target or sweep):
        console.print(ctx.get_help())
        raise typer.Exit(0 if trace is None and not target and not sweep else 2)
    if output not in ("recorded", "live"):
        raise typer.BadParameter("recorded or live", param_hint="--output")
    try:
        options = ReplayOptions(
            concurrency=concurrency,
            arrivals=arrivals if arrivals in ("trace", "none") else str(float(arrivals)),
            output_policy=output,  # type: ignore[arg-type]
            gaps=GapPolicy.parse(gaps, gap_cap, human_gaps),
            max_turns=max_turns,
            token_scale=token_scale,
            seed=seed,
        )
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from exc
    loaded = load_sessions(trace, seed, sessions)
    folder = out_dir(out, options.run_id)
    with ExitStack() as stack:
        if sweep:
            parameter, values = _sweep_values(sweep)
            fixed = parse_pairs(sim_set or [], "--sim-set")
            query = "".join(f"&{k}={v}" for k, v in fixed.items())
            specs = [Target(f"{parameter}={v}", f"sim:{sim}?{parameter}={v}{query}") for v in values]
            targets = [launch(t, stack, seed) for t in specs]  # validates each (a bad one is named)
            prices = {t.name: target_price(t) for t in specs}
        else:
            specs = [_parsed(s) for s in target or []]
            targets = [launch(t, stack, seed) for t in specs]  # validates each (a bad one is named)
            prices = {t.name: target_price(t) for t in specs}
        names = [t.name for t in targets]
        if len(set(names)) != len(names):
            raise typer.BadParameter("target names must differ", param_hint="--target")
        console.print(
            f"run {options.run_id}: {len(loaded)} sessions × {len(targets)} targets, concurrency {concurrency}, "
            f"output {output}, gaps {gaps}"
        )
        spread = max((s.header.arrival_offset_s for s in loaded), default=0.0)
        if options.arrivals == "trace" and spread > 600:
            console.print(
                f"[yellow]the trace's sessions arrive over {spread:,.0f} s, as recorded; "
                "--arrivals none starts them together[/yellow]"
            )
        results = run_replay(loaded, targets, options)
    costs = (session_costs(results, prices), COST_ROWS[:2])
    files, summary = publish(results, names, folder, f"run {options.run_id}: {trace}", plot, extra=costs)
    if sweep:
        from splitlane.bench import plots

        walls = [summary[n].mean_wall_s for n in names]
        effective = [summary[n].p50_effective_tps for n in names]
        files.append(plots.sweep(parameter, [float(v) for v in values], walls, effective, folder / "sweep.png"))
    _finish(results, files, open_plots)


def _finish(results: Sequence[TurnResult], files: list[Path], open_plots: bool) -> None:
    if open_plots:
        for path in files:
            if path.suffix == ".png":
                webbrowser.open(path.resolve().as_uri())
    if any(r.error for r in results):
        raise typer.Exit(1)


@bench_app.command()
def demo(
    out: Annotated[Path | None, typer.Option(help="results folder (default ./splitlane-bench/<time>-<run>)")] = None,
    open_plots: Annotated[bool, typer.Option("--open", help="open the plots when done")] = False,
    model: Annotated[str, typer.Option(help=f"the embedded engine's packaged model ({', '.join(MODELS)})")] = (
        DEFAULT_MODEL
    ),
) -> None:
    """A small benchmark in a few minutes: the embedded engine against the sim's 'fast' profile on four
    short synthetic sessions, with the table, records and plots of a full run."""
    if model not in MODELS:
        raise typer.BadParameter(f"one of {', '.join(MODELS)}", param_hint="--model")
    options = ReplayOptions(concurrency=2, arrivals="none")
    sessions = load_sessions("synthetic:tiny", 0, None)
    folder = out_dir(out, options.run_id)
    with ExitStack() as stack:
        specs = [_parsed(s) for s in (f"engine=embedded?model={model}", "sim-fast=sim:fast")]
        targets = [launch(t, stack, 0) for t in specs]
        console.print(f"demo run {options.run_id}: {len(sessions)} sessions × 2 targets, 2 at a time")
        results = run_replay(sessions, targets, options)
    costs = (session_costs(results, {t.name: target_price(t) for t in specs}), COST_ROWS[:2])
    title = f"demo {options.run_id}: synthetic:tiny"
    files, _ = publish(results, [t.name for t in targets], folder, title, True, extra=costs)
    _finish(results, files, open_plots)


def _sweep_values(text: str) -> tuple[str, list[str]]:
    parameter, _, raw = text.partition("=")
    values = [v for v in raw.split(",") if v]
    if not parameter or not values:
        raise typer.BadParameter("expected PARAM=V1,V2,…", param_hint="--sweep")
    for value in values:
        try:
            float(value)
        except ValueError as exc:
            raise typer.BadParameter(f"'{value}' is not a number", param_hint="--sweep") from exc
    return parameter, values


@bench_app.command()
def convert(
    source: Annotated[Path, typer.Argument(help="a trajectory or trace file, or a folder of them", exists=True)],
    output: Annotated[Path, typer.Option("--output", "-o", help="agentsession/v1 JSONL (.gz to compress)")],
    kind: Annotated[str, typer.Option("--from", help=" | ".join(CONVERTERS))] = "swe-agent",
) -> None:
    """Convert a recorded trajectory (or every one in a folder, e.g. ~/.codex/sessions) to the
    agentsession/v1 trace format."""
    if kind not in CONVERTERS:
        raise typer.BadParameter(f"one of {', '.join(CONVERTERS)}", param_hint="--from")
    files = sorted(source.rglob(FILES[kind])) if source.is_dir() else [source]
    if not files:
        raise typer.BadParameter(f"no {FILES[kind]} under {source}", param_hint="SOURCE")
    header, converted = CONVERTERS[kind](files[0])
    for path in files[1:]:
        converted += CONVERTERS[kind](path)[1]
    if len(files) > 1:
        header = header.model_copy(update={"notes": f"converted from {len(files)} files under {source}"})
    write_trace(output, header, converted)
    _print_sessions(converted, f"wrote {output}")


@bench_app.command()
def synth(
    output: Annotated[Path, typer.Option("--output", "-o", help="agentsession/v1 JSONL (.gz to compress)")],
    preset: Annotated[str, typer.Option(help=" | ".join(PRESETS))] = "agentic",
    sessions: Annotated[int | None, typer.Option(help="number of sessions")] = None,
    seed: Annotated[int, typer.Option(help="random seed (same seed, same trace)")] = 0,
    set_: Annotated[list[str] | None, typer.Option("--set", help="override a generator parameter: name=value")] = None,
) -> None:
    """Write a seeded synthetic trace whose shape follows published agent-session figures."""
    if preset not in PRESETS:
        raise typer.BadParameter(f"one of {', '.join(PRESETS)}", param_hint="--preset")
    overrides = parse_pairs(set_ or [], "--set")
    if sessions is not None:
        overrides["sessions"] = str(sessions)
    try:
        spec = PRESETS[preset].with_overrides(overrides)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--set") from exc
    header, generated = generate(spec, seed, preset)
    write_trace(output, header, generated)
    _print_sessions(generated, f"wrote {output}")


def _print_sessions(sessions: Sequence[Session], title: str) -> None:
    table = Table("session", "turns", "prompt tokens (first → last)", "output tokens", "gaps (s)", title=title)
    for session in sessions:
        prompts = [t.input.prompt_tokens or 0 for t in session.turns]
        table.add_row(
            session.header.session_id,
            str(len(session.turns)),
            f"{prompts[0]:,} → {prompts[-1]:,}",
            f"{sum(t.output.completion_tokens for t in session.turns):,}",
            f"{sum(t.timing.gap_after or 0 for t in session.turns):,.1f}",
        )
    console.print(table)


@bench_app.command()
def fidelity(
    profile: Annotated[str, typer.Option(help="the sim profile to measure (jitter is turned off)")] = "fast",
    concurrency: Annotated[str, typer.Option(help="comma-separated levels")] = "1,16",
    turns: Annotated[int, typer.Option(help="turns per session")] = 8,
    gap_cap: Annotated[float, typer.Option(help="cap on the synthetic tool gaps (s)")] = 3.0,
    seed: Annotated[int, typer.Option(help="seed of the synthetic sessions")] = 0,
) -> None:
    """Replay against a simulator of known timing and print measured/expected per metric."""
    from splitlane.bench.fidelity import compare
    from splitlane.sim_profiles import load_profile

    try:
        known = load_profile(profile, {"jitter": "0"})
        levels = [int(c) for c in concurrency.split(",")]
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from exc
    table = Table(
        "concurrency", "metric", "turns", "expected P50", "measured P50", "measured/expected", "P90 |error|",
        "P90 |error| abs",
    )  # fmt: skip
    table.title = f"measurement fidelity against sim profile '{profile}' (jitter 0)"
    for level in levels:
        spec = PRESETS["agentic"].with_overrides(
            {"sessions": str(max(4, level)), "turns_median": str(turns), "turns_sigma": "0", "turns_min": "1",
             "initial_tokens_min": "2000", "initial_tokens_max": "8000", "gap_cap_s": str(gap_cap)}
        )  # fmt: skip
        sessions = generate(spec, seed, "agentic")[1]
        with ExitStack() as stack:
            target = launch(Target("sim", f"sim:{profile}?jitter=0"), stack, seed)
            results = run_replay(sessions, [target], ReplayOptions(concurrency=level, arrivals="none", seed=seed))
        for row in compare(results, known):
            table.add_row(
                str(level), row.metric, str(row.turns), f"{row.expected_p50:.3f}", f"{row.measured_p50:.3f}",
                f"{row.p50_ratio:.3f}", f"{row.p90_error:.1%}", f"{row.p90_error_abs:.3f}",
            )  # fmt: skip
    console.print(table)
