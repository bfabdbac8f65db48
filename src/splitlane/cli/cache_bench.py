"""``splitlane bench cache``: prompt-cache hits through the gateway, against named baselines."""

from __future__ import annotations

import tempfile
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Annotated

import orjson
import typer
from rich.console import Console
from rich.table import Table

from splitlane.bench.cache import CASES, CaseResult, comparisons, start, summarize
from splitlane.bench.processes import ServerError
from splitlane.bench.replay import GapPolicy, ReplayOptions
from splitlane.bench.synthetic import PRESETS, generate
from splitlane.cli.options import parse_pairs
from splitlane.cli.replaying import run_replay

console = Console()


def cache(
    sessions: Annotated[int, typer.Option(help="synthetic sessions per target (run at once)")] = 2,
    turns: Annotated[int, typer.Option(help="turns per session")] = 40,
    output_tokens: Annotated[int, typer.Option(help="median output tokens a turn")] = 64,
    profile: Annotated[str, typer.Option(help="the sims' timing profile")] = "fast",
    sim_set: Annotated[list[str] | None, typer.Option("--sim-set", help="sim profile overrides k=v")] = None,
    seed: Annotated[int, typer.Option(help="seed of the synthetic sessions")] = 0,
    out: Annotated[Path | None, typer.Option(help="results folder (default ./splitlane-bench/<time>-cache)")] = None,
) -> None:
    """Cache hit ratio, TTFT and billed input: a Messages client direct vs through splitlane, and a
    Chat client through splitlane to an Anthropic-kind sim with breakpoints auto vs off."""
    if turns < 2 or sessions < 1:
        raise typer.BadParameter("at least 2 turns and 1 session")
    overrides = parse_pairs(sim_set or [], "--sim-set")
    spec = PRESETS["agentic"].with_overrides(
        {"sessions": str(sessions), "turns_median": str(turns), "turns_sigma": "0", "turns_min": str(turns)}
        | {"turns_max": str(turns), "output_tokens_median": str(output_tokens)}
    )
    loaded = generate(spec, seed, "agentic")[1]
    options = ReplayOptions(concurrency=sessions, arrivals="none", gaps=GapPolicy("none"), seed=seed)
    folder = out or Path("splitlane-bench") / f"{time.strftime('%Y%m%d-%H%M%S')}-cache"
    with ExitStack() as stack:
        workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="splitlane-cache-")))
        try:
            with console.status("starting the sims and the gateways"):
                targets, ledgers = start(CASES, profile, overrides, workdir, stack)
        except (ServerError, ValueError) as exc:
            console.print(f"[red]{exc}[/red]")
            raise typer.Exit(1) from exc
        console.print(
            f"{sessions} sessions × {turns} turns × {len(targets)} targets, sim profile {profile}, "
            "Anthropic-style explicit caching"
        )
        results = summarize(CASES, run_replay(loaded, targets, options), ledgers)
    rows = comparisons(results)
    _print(results, rows)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "cache.json"
    path.write_bytes(
        orjson.dumps({"targets": [r.record() for r in results], "comparisons": rows}, option=orjson.OPT_INDENT_2)
    )
    console.print(f"wrote {path}")
    if any(r.errors for r in results):
        raise typer.Exit(1)


def _print(results: list[CaseResult], rows: list[dict[str, object]]) -> None:
    table = Table(title="prompt cache through the gateway (sim: Anthropic explicit caching)")
    for column in ("target", "hit ratio turns 2+", "TTFT P50", "TTFT P90", "uncached", "cache read", "cache write"):
        table.add_column(column, justify="left" if column == "target" else "right")
    table.add_column("billed input", justify="right")
    for r in results:
        ledger = r.ledger
        table.add_row(
            r.case.name,
            f"{r.hit_ratio_after_first:.1%}",
            f"{r.ttft_p50_s * 1000:.0f} ms",
            f"{r.ttft_p90_s * 1000:.0f} ms",
            _tokens(ledger.uncached_tokens),
            _tokens(ledger.read_tokens),
            _tokens(ledger.write_tokens),
            _tokens(r.billed_input),
        )
    console.print(table)
    for r in results:
        console.print(f"  [bold]{r.case.name}[/bold]: {r.case.says}")
    console.print(
        "  prompt tokens billed at the input price (uncached), the cache-read price (0.1x) and the cache-write "
        "price (1.25x); billed input in base-input-token units"
    )
    ratios = Table(title="against the named baseline (same run)")
    for column in ("measured", "baseline", "hit ratio Δ (points)", "TTFT P50 ratio", "billed input ratio"):
        ratios.add_column(column)
    for row in rows:
        ratios.add_row(
            str(row["measured"]),
            str(row["baseline"]),
            f"{row['hit_ratio_points']:+.2f}",
            f"{row['ttft_p50_ratio']:.3f}",
            f"{row['billed_input_ratio']:.3f}",
        )
    console.print(ratios)


def _tokens(n: float) -> str:
    return f"{n / 1e6:.2f}M" if n >= 1e6 else f"{n / 1e3:.1f}K" if n >= 1e3 else f"{n:.0f}"
