"""``splitlane bench websocket``: Codex's Responses WebSocket against its HTTP path, one gateway."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from statistics import median
from typing import Annotated

import orjson
import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from splitlane.bench import plots
from splitlane.bench import transports as bench
from splitlane.bench.overhead.servers import serve
from splitlane.telemetry.metrics import percentile

console = Console()


def websocket(
    turns: Annotated[int, typer.Option(help="Turns per session.", min=2)] = 30,
    rounds: Annotated[int, typer.Option(help="Sessions per transport, alternating.", min=1)] = 3,
    tool_bytes: Annotated[int, typer.Option(help="Bytes of tool output each turn adds.", min=0)] = 8000,
    out: Annotated[Path, typer.Option(help="Where websocket.json and websocket.png go.")] = Path("bench-websocket"),
) -> None:
    """A scripted Codex session (Codex 0.169's own first request, growing by a tool result per
    turn) over HTTP and over the Responses WebSocket, through one `splitlane serve` with an
    instant simulated upstream: bytes the client sends per turn and turn time, side by side."""
    out.mkdir(parents=True, exist_ok=True)
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with (
        serve(out, "gateway", bench.gateway_config(out / "gateway-data")) as gateway,
        Progress(*columns, console=console) as progress,
    ):
        task = progress.add_task("sessions", total=rounds * len(bench.TRANSPORTS))

        def tick(label: str) -> None:
            progress.update(task, description=label, advance=1)

        samples = bench.run_sync(gateway.url, rounds, turns, tool_bytes, tick)
    table = Table(
        title=f"splitlane bench websocket — {turns}-turn Codex session, {rounds} rounds each, instant upstream"
    )
    for name in ("transport", "KB sent / turn", "last turn KB", "session MB", "turn ms P50", "turn ms P90"):
        table.add_column(name, justify="left" if name == "transport" else "right")
    summary: dict[str, dict[str, float]] = {}
    series: dict[str, tuple[list[float], list[float]]] = {}
    for transport in bench.TRANSPORTS:
        mine = [s for s in samples if s.transport == transport]
        seconds = [s.seconds for s in mine]  # percentile() sorts
        first_round = [s for s in mine if s.round == 0]
        summary[transport] = {
            "kb_per_turn": sum(s.sent_bytes for s in first_round) / len(first_round) / 1000,
            "last_turn_kb": first_round[-1].sent_bytes / 1000,
            "session_mb": sum(s.sent_bytes for s in first_round) / 1e6,
            "turn_ms_p50": percentile(seconds, 50) * 1000,
            "turn_ms_p90": percentile(seconds, 90) * 1000,
        }
        series[transport] = (
            [s.sent_bytes / 1000 for s in first_round],
            [median(s.seconds for s in mine if s.turn == t) * 1000 for t in range(turns)],
        )
        row = summary[transport]
        table.add_row(
            transport,
            f"{row['kb_per_turn']:.1f}",
            f"{row['last_turn_kb']:.1f}",
            f"{row['session_mb']:.2f}",
            f"{row['turn_ms_p50']:.1f}",
            f"{row['turn_ms_p90']:.1f}",
        )
    console.print(table)
    http, ws = summary["http"], summary["websocket"]
    ratios = {
        "bytes_websocket_over_http": ws["session_mb"] / http["session_mb"],
        "turn_p50_websocket_over_http": ws["turn_ms_p50"] / http["turn_ms_p50"],
        "turn_p90_websocket_over_http": ws["turn_ms_p90"] / http["turn_ms_p90"],
    }
    console.print(
        "websocket / http (baseline: http, same gateway, same run): "
        f"bytes sent {ratios['bytes_websocket_over_http']:.2f}x, "
        f"turn time P50 {ratios['turn_p50_websocket_over_http']:.2f}x, "
        f"P90 {ratios['turn_p90_websocket_over_http']:.2f}x"
    )
    document = {
        "turns": turns,
        "rounds": rounds,
        "tool_bytes": tool_bytes,
        "summary": summary,
        "ratios": ratios,
        "samples": [asdict(s) for s in samples],
    }
    (out / "websocket.json").write_bytes(orjson.dumps(document, option=orjson.OPT_INDENT_2))
    console.print(f"plot: {plots.transports(series, out / 'websocket.png')}")
