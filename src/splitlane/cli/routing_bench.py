"""``splitlane bench routing``: the replica routing policies on one fleet (bench/routing.py)."""

from __future__ import annotations

import tempfile
import time
from contextlib import ExitStack
from dataclasses import asdict
from pathlib import Path
from typing import Annotated, Any

import orjson
import typer
from rich.console import Console
from rich.table import Table

from splitlane.api.app import create_app
from splitlane.bench.in_process import serve_in_thread
from splitlane.bench.replay import GapPolicy, ReplayOptions, Target
from splitlane.bench.routing import (
    BASELINE,
    POLICIES,
    PolicyResult,
    Workload,
    busy,
    comparisons,
    gateway_config,
    kill_later,
    stored,
    summarize,
)
from splitlane.cli.replaying import out_dir, publish, run_replay

console = Console()


def routing(
    replica: Annotated[list[str], typer.Option("--replica", help="an OpenAI-compatible base URL (…/v1), repeatable")],
    model: Annotated[str, typer.Option(help="the model name the replicas serve")],
    policies: Annotated[str, typer.Option(help="comma-separated, run in this order")] = ",".join(POLICIES),
    sessions: Annotated[int, typer.Option(help="concurrent agent sessions")] = 8,
    turns: Annotated[int, typer.Option(help="turns per session")] = 4,
    shared_blocks: Annotated[int, typer.Option(help="blocks of shared system prompt + repository")] = 12,
    block_tokens: Annotated[int, typer.Option(help="tokens per block")] = 128,
    output_tokens: Annotated[int, typer.Option(help="max tokens a reply")] = 24,
    busy_replica: Annotated[
        str | None, typer.Option("--busy", help="INDEX[:STREAMS]: another tenant's long requests on that replica")
    ] = None,
    kill: Annotated[
        str | None, typer.Option(help="PID@SECONDS: SIGKILL a replica's server that long into the first policy's run")
    ] = None,
    poll_s: Annotated[float, typer.Option(help="how often the gateway reads each replica's /metrics")] = 0.5,
    out: Annotated[Path | None, typer.Option(help="results folder (default ./splitlane-bench/<time>-routing)")] = None,
) -> None:
    """Per-turn TTFT P50/P90, cache hit ratio (the replicas' own cached_tokens), session wall and
    fallbacks for each routing policy, one after another on the same replicas, against round robin."""
    chosen = [p.strip() for p in policies.split(",") if p.strip()]
    if unknown := [p for p in chosen if p not in POLICIES]:
        raise typer.BadParameter(f"unknown {unknown} (known: {', '.join(POLICIES)})", param_hint="--policies")
    if len(replica) < 2:
        raise typer.BadParameter("routing needs two replicas or more", param_hint="--replica")
    workload = Workload(sessions, turns, shared_blocks, block_tokens, output_tokens)
    folder = out_dir(out, "routing")
    folder.mkdir(parents=True, exist_ok=True)
    loaded = workload.sessions_in(folder)
    console.print(
        f"{sessions} sessions × {turns} turns on {len(replica)} replicas; {shared_blocks * block_tokens} shared "
        f"tokens, prompts up to ~{workload.largest_prompt}; policies {', '.join(chosen)}"
    )
    results: list[PolicyResult] = []
    every_turn = []
    with ExitStack() as stack:
        if busy_replica is not None:
            index, _, streams = busy_replica.partition(":")
            stack.enter_context(busy(replica[int(index)], model, int(streams or 4)))
            console.print(f"replica r{index} kept busy by {streams or 4} long requests of another tenant")
            time.sleep(2.0)  # they are running before the first turn
        for n, policy in enumerate(chosen):
            if n == 0 and kill is not None:
                pid, _, after = kill.partition("@")
                kill_later(int(pid), float(after or 10))
                console.print(f"process {pid} is killed {after or 10} s into the {policy} run")
            result, turns_of = _run(policy, replica, model, workload, loaded, poll_s)
            results.append(result)
            every_turn += turns_of
    rows = comparisons(results)
    _print(results, rows)
    publish(every_turn, chosen, folder, "routing policies, one after another on the same replicas", plot=True)
    path = folder / "routing.json"
    path.write_bytes(
        orjson.dumps(
            {"workload": asdict(workload), "policies": [r.row() for r in results], "comparisons": rows},
            option=orjson.OPT_INDENT_2,
        )
    )
    console.print(f"wrote {path}")
    if any(r.errors for r in results):
        raise typer.Exit(1)


def _run(
    policy: str, replicas: list[str], model: str, workload: Workload, loaded: Any, poll_s: float
) -> tuple[PolicyResult, list[Any]]:
    with tempfile.TemporaryDirectory(prefix=f"splitlane-routing-{policy}-") as data:
        config = gateway_config(replicas, model, policy, Path(data), poll_s)
        with serve_in_thread(create_app(config)) as url:
            time.sleep(2 * poll_s)  # the first /metrics reads are in
            options = ReplayOptions(
                concurrency=workload.sessions, arrivals="none", gaps=GapPolicy("none"), turn_timeout_s=300
            )
            turns = run_replay(loaded, [Target(policy, url + "/v1", "chat", "bench")], options)
        return summarize(policy, turns, stored(Path(data)), replicas), turns


def _print(results: list[PolicyResult], rows: list[dict[str, Any]]) -> None:
    table = Table(title="replica routing (each policy cold: its own content namespace)")
    columns = ("policy", "turns", "errors", "fallbacks", "TTFT P50", "TTFT P90", "cache hit", "1st-turn hit")
    for column in (*columns, "session wall P50", "turns per replica"):
        table.add_column(column, justify="left" if column in ("policy", "turns per replica") else "right")
    for r in results:
        table.add_row(
            r.policy,
            str(r.turns),
            str(r.errors),
            str(r.fallbacks),
            f"{r.ttft_p50_s * 1000:.0f} ms",
            f"{r.ttft_p90_s * 1000:.0f} ms",
            f"{r.hit_ratio:.1%}",
            f"{r.first_turn_hit_ratio:.1%}",
            f"{r.session_wall_p50_s:.1f} s",
            " ".join(f"{k}={v}" for k, v in r.per_replica.items()),
        )
    console.print(table)
    ratios = Table(title=f"against {BASELINE} (same run; < 1 is faster)")
    for column in ("measured", "TTFT P50 ratio", "TTFT P90 ratio", "session wall P50 ratio", "hit ratio Δ (points)"):
        ratios.add_column(column)
    for row in rows:
        ratios.add_row(
            row["measured"],
            str(row["ttft_p50_ratio"]),
            str(row["ttft_p90_ratio"]),
            str(row["session_wall_p50_ratio"]),
            f"{row['hit_ratio_points']:+.1f}",
        )
    console.print(ratios)
    lost = [r.policy for r in results if r.recorded != r.turns]
    if lost:
        console.print(f"[red]telemetry rows missing for {', '.join(lost)}[/red]")
