"""``splitlane bench engine``: the embedded engine against llama-cpp-python, side by side."""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path
from typing import Annotated

import orjson
import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from splitlane.bench.engine import workloads
from splitlane.bench.engine.run import Outcome, Settings, run
from splitlane.engine.models import DEFAULT_MODEL, MODELS

console = Console()
BASELINES = ("b1", "b2")
WORKLOADS = ("w1", "w2", "w3", "concurrent")


def _choices(text: str, allowed: tuple[str, ...], hint: str) -> tuple[str, ...]:
    names = tuple(n.strip().lower() for n in text.split(",") if n.strip())
    bad = [n for n in names if n not in allowed]
    if bad:
        raise typer.BadParameter(f"choose from {', '.join(allowed)} (got {', '.join(bad)})", param_hint=hint)
    return names


def _model_path(model: str) -> Path:
    if model in MODELS:
        return MODELS[model].path()
    if not Path(model).is_file():
        raise typer.BadParameter(f"neither a packaged model ({', '.join(MODELS)}) nor a file", param_hint="--model")
    return Path(model)


def _fmt(value: float | None, unit: str = "", digits: int = 2) -> str:
    return "—" if value is None else f"{value:,.{digits}f}{unit}"


# (what, ours, theirs, ratio, ratio unit, target); ours/theirs are (figure, unit, digits)
Row = tuple[str, tuple[str, str, int], tuple[str, str, int], str, str, str]
ROWS: tuple[Row, ...] = (
    ("W1 warm-turn TTFT / cold TTFT", ("w1_warm_ttft_s", " s", 2), ("w1_cold_ttft_s", " s cold", 2),
     "w1_warm_over_cold_ttft", "×", "≤ 0.10×"),
    ("W2 decode tok/s vs B1", ("w2_decode_tps_ours", "", 1), ("w2_decode_tps_b1", "", 1),
     "w2_decode_vs_b1", "×", "≥ 2.5×"),
    ("W1 session wall vs B2", ("w1_wall_ours_s", " s", 1), ("w1_wall_b2_s", " s", 1),
     "w1_speedup_vs_b2", "× faster", "≥ 1.5×"),
    ("W1 session wall vs B1", ("w1_wall_ours_s", " s", 1), ("w1_wall_b1_s", " s", 1),
     "w1_speedup_vs_b1", "× faster", ""),
    ("W3 decode tok/s vs B1", ("w3_decode_tps_ours", "", 1), ("w3_decode_tps_b1", "", 1),
     "w3_decode_vs_b1", "×", "≥ 0.97×"),
    ("W1 ×N aggregate output tok/s vs one session", ("concurrent_aggregate_tps", "", 1), ("w1_single_tps", "", 1),
     "concurrent_gain", "×", "≥ 2×"),
    ("W2 speculation on / off (ablation)", ("w2_decode_tps_ours", "", 1), ("w2_decode_tps_plain", "", 1),
     "w2_speculation_gain", "×", ""),
    ("W3 speculation on / off (ablation)", ("w3_decode_tps_ours", "", 1), ("w3_decode_tps_plain", "", 1),
     "w3_speculation_gain", "×", ""),
)  # fmt: skip


def _table(outcome: Outcome) -> Table:
    f = outcome.figures
    table = Table(title="splitlane bench engine — ratios measured side by side in one run")
    for name in ("what", "splitlane", "baseline", "ratio", "target"):
        table.add_column(name, justify="left" if name == "what" else "right")
    for what, (ours, ours_unit, ours_digits), (theirs, unit, digits), ratio, ratio_unit, target in ROWS:
        ratio_digits = 3 if ratio == "w1_warm_over_cold_ttft" else 2
        table.add_row(
            what,
            _fmt(f.get(ours), ours_unit, ours_digits),
            _fmt(f.get(theirs), unit, digits),
            _fmt(f.get(ratio), ratio_unit, ratio_digits),
            target,
        )
    return table


def engine(
    w1_turns: Annotated[int | None, typer.Option(help="Replay only the first N turns of W1.", min=1)] = None,
    w2_tokens: Annotated[int, typer.Option(help="Max tokens of each W2 rewrite.", min=1)] = 512,
    w3_tokens: Annotated[int, typer.Option(help="Max tokens of each W3 text.", min=1)] = 256,
    concurrent: Annotated[int, typer.Option(help="W1 sessions at once (0: skip).", min=0)] = 4,
    baselines: Annotated[str, typer.Option(help="Comma-separated: b1 (create_completion), b2 (server).")] = "b1,b2",
    workload: Annotated[str, typer.Option("--workloads", help="Comma-separated: w1,w2,w3,concurrent.")] = (
        "w1,w2,w3,concurrent"
    ),
    threads: Annotated[int, typer.Option(help="Threads for every engine.", min=1)] = 2,
    n_ctx: Annotated[int, typer.Option(help="Context of every engine (W1 reaches ~17K tokens).", min=512)] = 20480,
    trace: Annotated[Path, typer.Option(help="The W1 SWE-agent trajectory.")] = workloads.W1_TRACE,
    model: Annotated[str, typer.Option(help=f"A packaged model ({', '.join(MODELS)}) or a GGUF file.")] = DEFAULT_MODEL,
    out: Annotated[Path, typer.Option(help="Where engine.json goes.")] = Path("bench-engine"),
) -> None:
    """Embedded engine vs llama-cpp-python (B1 Llama.create_completion, B2 llama_cpp.server):
    W1 a real SWE-agent session turn by turn, W2 file rewrites, W3 free text; greedy, same model
    file and thread count; prints ratios measured in this one run."""
    chosen = _choices(workload, WORKLOADS, "--workloads")
    if ("w1" in chosen or "concurrent" in chosen) and not trace.is_file():
        raise typer.BadParameter(f"no such file: {trace}", param_hint="--trace")
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="splitlane-bench-engine-") as tmp:
        settings = Settings(
            model_path=_model_path(model),
            workdir=Path(tmp),
            n_threads=threads,
            n_ctx=n_ctx,
            w1_trace=trace,
            w1_turns=w1_turns,
            w2_tokens=w2_tokens,
            w3_tokens=w3_tokens,
            concurrent=concurrent,
            baselines=_choices(baselines, BASELINES, "--baselines"),
            workloads=chosen,
        )
        columns = (
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
        )
        with Progress(*columns, console=console) as progress:
            task = progress.add_task("loading", total=None)

            def tick(label: str, done: int) -> None:
                progress.update(task, description=label, advance=done)

            outcome = asyncio.run(run(settings, progress.console.print, tick))
    console.print(_table(outcome))
    for note in outcome.notes:
        console.print(f"[yellow]note:[/] {note}")
    (out / "engine.json").write_bytes(orjson.dumps(outcome.to_json(), option=orjson.OPT_INDENT_2))
    console.print(f"details: {out / 'engine.json'}")
