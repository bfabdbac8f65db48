"""A replay run from the CLI: the sessions loaded, run against the targets (one progress bar per
target), and published (the side-by-side table, records, plots)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from contextlib import ExitStack
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from splitlane.bench import report
from splitlane.bench.in_process import serve_config, sim_settings
from splitlane.bench.replay import Replay, ReplayOptions, Target, TurnResult
from splitlane.bench.synthetic import PRESETS, generate
from splitlane.bench.trace import Session, TraceError, read_trace
from splitlane.config import ConfigError, load_config
from splitlane.telemetry.metrics import SessionTable

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


def load_sessions(
    trace: str, seed: int, sessions: int | None, synthetic: dict[str, str] | None = None
) -> list[Session]:
    """A trace file, or ``synthetic:PRESET`` generated on the fly (``synthetic``: generator overrides)."""
    if trace.startswith("synthetic:"):
        preset = trace.split(":", 1)[1]
        if preset not in PRESETS:
            raise typer.BadParameter(f"unknown preset '{preset}' (known: {', '.join(PRESETS)})", param_hint="--trace")
        spec = PRESETS[preset].with_overrides(synthetic or {})
        if sessions is not None:
            spec = spec.with_overrides({"sessions": str(sessions)})
        return generate(spec, seed, preset)[1]
    try:
        loaded = read_trace(Path(trace))[1]
    except (OSError, TraceError) as exc:
        raise typer.BadParameter(str(exc), param_hint="--trace") from exc
    return loaded[:sessions] if sessions else loaded


def publish(
    results: Sequence[TurnResult],
    targets: Sequence[str],
    out: Path,
    title: str,
    plot: bool,
    extra: tuple[dict[str, dict[str, float]], Sequence[tuple[str, str, str]]] | None = None,
) -> tuple[list[Path], dict[str, SessionTable]]:
    """Print the side-by-side table; write per-turn and per-session JSONL/CSV and the plots.
    ``extra``: more figures per target and the rows that show them (``bench split``'s costs)."""
    from splitlane.bench import plots  # matplotlib: ~1 s of import that `splitlane serve` should not pay

    session_results = report.sessions(results)
    summary = report.tables(session_results, targets)
    stats = report.turn_stats(results, targets)
    figures, rows = extra or ({}, ())
    for name in targets:
        stats[name] = {**stats[name], **figures.get(name, {})}
    console.print(report.side_by_side(summary, stats, title, rows))
    files = report.write_records(out, "turns", report.turn_records(results))
    files += report.write_records(out, "sessions", [s.record() for s in session_results])
    files += report.write_records(out, "summary", report.table_records(summary))
    if plot:
        files.append(plots.effective_tps(session_results, targets, out / "effective_tps.png"))
        files.append(plots.time_split(summary, out / "time_split.png"))
        files.append(plots.ttft_over_turns(results, targets, out / "ttft_over_turns.png"))
    console.print(f"wrote {', '.join(p.name for p in files)} to {out}")
    return files, summary


def out_dir(out: Path | None, run_id: str) -> Path:
    return out or Path("splitlane-bench") / f"{time.strftime('%Y%m%d-%H%M%S')}-{run_id}"


def launch(target: Target, stack: ExitStack, seed: int | None) -> Target:
    if target.url.startswith("sim:"):
        parts = urlsplit(target.url)
        try:
            settings = sim_settings(parts.path or "fast", dict(parse_qsl(parts.query)), seed)
        except ValueError as exc:
            raise typer.BadParameter(str(exc), param_hint="--target") from exc
        url = stack.enter_context(serve_config(settings))
        return Target(target.name, url, target.api, "sim", target.key_env)
    if target.url.split("?")[0] == "embedded":
        console.print(f"[dim]{target.name}: starting the gateway on the embedded engine…[/dim]")
        engine = {"kind": "local", **dict(parse_qsl(urlsplit(target.url).query))}  # e.g. embedded?n_ctx=32768
        try:
            settings = load_config(None, upstreams={"local": engine}, models={"local": {"upstream": "local"}})
        except ConfigError as exc:
            raise typer.BadParameter(str(exc), param_hint="--target") from exc
        url = stack.enter_context(serve_config(settings))
        return Target(target.name, url, target.api, "local", target.key_env)
    return target
