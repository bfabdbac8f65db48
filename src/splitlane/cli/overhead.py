"""``splitlane bench overhead``: what the gateway adds to a streamed request, against a direct
connection, LiteLLM's proxy and Portkey's gateway, measured side by side in one run."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Sequence
from contextlib import ExitStack
from dataclasses import replace
from pathlib import Path
from typing import Annotated

import orjson
import typer
import uvloop
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from splitlane.bench.overhead import servers
from splitlane.bench.overhead.profile import top_costs
from splitlane.bench.overhead.run import Results, Settings, Target, plan, run
from splitlane.bench.processes import ServerError

console = Console()
TARGETS = ("direct", "bare", "splitlane", "translate", "litellm", "portkey")


def _levels(text: str) -> tuple[int, ...]:
    try:
        levels = tuple(int(v) for v in text.split(","))
    except ValueError as exc:
        raise typer.BadParameter("comma-separated integers, e.g. 1,16,64,256", param_hint="--levels") from exc
    if not levels or min(levels) < 1:
        raise typer.BadParameter("each level must be at least 1", param_hint="--levels")
    return levels


def _targets(text: str) -> list[str]:
    names = [n.strip() for n in text.split(",") if n.strip()]
    unknown = [n for n in names if n not in TARGETS]
    if unknown or not names:
        raise typer.BadParameter(f"choose from {', '.join(TARGETS)}", param_hint="--targets")
    return [n for n in TARGETS if n in names]  # direct first: it is the baseline


def start(
    names: Sequence[str], stack: ExitStack, interval_ms: float, litellm_version: str, portkey_version: str
) -> list[Target]:
    home = Path(os.environ.get("SPLITLANE_HOME", "~/.splitlane")).expanduser()
    work = servers.workdir(stack)
    exe = servers.litellm_venv(home, litellm_version, console.print) if "litellm" in names else None
    npm_folder = servers.portkey_install(home, portkey_version, console.print) if "portkey" in names else None
    with console.status("starting the upstream and the gateways"):
        upstream = stack.enter_context(servers.upstream(work, interval_ms))
        gateway = (
            stack.enter_context(servers.splitlane(work, upstream.url))
            if {"splitlane", "translate"} & set(names)
            else None
        )
        proxy = stack.enter_context(servers.litellm(work, upstream.url, exe)) if exe else None
        portkey = stack.enter_context(servers.portkey(work, npm_folder)) if npm_folder else None
        bare = stack.enter_context(servers.bare_proxy(work, upstream.url)) if "bare" in names else None
    targets = []
    for name in names:
        if name == "direct":
            targets.append(Target(name, "chat", upstream, gateway=False))
        elif name == "litellm":
            assert proxy is not None
            targets.append(Target(name, "chat", proxy, gateway=True))
        elif name == "portkey":
            assert portkey is not None
            routed = tuple(servers.portkey_headers(upstream.url).items())
            targets.append(Target(name, "chat", portkey, gateway=True, headers=routed))
        elif name == "bare":
            assert bare is not None
            targets.append(Target(name, "chat", bare, gateway=True))
        else:
            assert gateway is not None
            targets.append(Target(name, "messages" if name == "translate" else "chat", gateway, gateway=True))
    return targets


def measure(settings: Settings, targets: Sequence[Target]) -> Results:
    phases = plan(settings, targets)
    columns = (TextColumn("{task.description:<32}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console) as progress:
        task = progress.add_task("phases", total=len(phases))

        def advance(done: int, label: str) -> None:
            progress.update(task, description=label, completed=done)

        results = uvloop.run(run(settings, targets, advance))
        progress.update(task, description="done", completed=len(phases))
        return results


def profile(target: Target, settings: Settings, seconds: float, out: Path) -> Path | None:
    """py-spy over the gateway while it is saturated; the raw stacks are kept, the top costs printed."""
    spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    if not Path(spy).exists():
        console.print("[yellow]--profile needs py-spy (pip install py-spy); skipped[/yellow]")
        return None
    raw = out / f"profile-{target.name}.txt"
    argv = [spy, "record", "--pid", str(target.server.pid), "--duration", str(int(seconds)), "--rate", "250"]
    # --gil: only samples holding the GIL (without it py-spy misattributes time on a busy 2-core box)
    argv += ["--format", "raw", "--output", str(raw), "--nonblocking", "--gil"]
    spy_proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    loaded = replace(settings, levels=(), rounds=1, phase_s=seconds + 1.0)
    with console.status(f"profiling {target.name} for {seconds:.0f} s at saturation"):
        uvloop.run(run(loaded, [target], lambda *_: None))
        _, err = spy_proc.communicate(timeout=60)
    if spy_proc.returncode != 0 or not raw.exists():
        console.print(f"[yellow]py-spy failed: {err.decode(errors='replace').strip()[-500:]}[/yellow]")
        return None
    table = top_costs(raw.read_text(), 10)
    console.print(table)
    return raw


def overhead(
    targets: Annotated[str, typer.Option(help=f"comma-separated, from {','.join(TARGETS)}")] = ",".join(TARGETS),
    levels: Annotated[str, typer.Option(help="concurrent streams, comma-separated")] = "1,16,64,256",
    rounds: Annotated[int, typer.Option(min=1, help="rounds; each runs every target once per level")] = 3,
    phase_s: Annotated[float, typer.Option(min=0.2, help="measured seconds per target per round")] = 2.0,
    warmup_s: Annotated[float, typer.Option(min=0.0, help="unmeasured seconds before each phase")] = 0.5,
    chunks: Annotated[int, typer.Option(min=2, help="content chunks per paced response")] = 16,
    interval_ms: Annotated[float, typer.Option(min=0.0, help="the paced upstream's time between chunks")] = 20.0,
    burst_chunks: Annotated[int, typer.Option(min=2, help="content chunks per response at saturation")] = 256,
    saturation: Annotated[int, typer.Option(min=1, help="concurrent streams of the saturation phase")] = 64,
    prompt_bytes: Annotated[int, typer.Option(min=1, help="size of each request's user message")] = 2000,
    staggered: Annotated[
        bool,
        typer.Option(
            "--staggered/--synchronized",
            help="paced streams start spread over one response's time (independent agents), or all at once",
        ),
    ] = True,
    litellm_version: Annotated[str, typer.Option(help="litellm[proxy] version to install")] = servers.LITELLM_VERSION,
    portkey_version: Annotated[
        str, typer.Option(help="@portkey-ai/gateway version to install")
    ] = servers.PORTKEY_VERSION,
    profile_s: Annotated[float, typer.Option("--profile", help="py-spy the gateway this long at saturation")] = 0.0,
    out: Annotated[Path | None, typer.Option(help="results folder (default ./splitlane-bench/<time>-overhead)")] = None,
) -> None:
    """The same streamed requests directly to a fast upstream, through splitlane (same API and
    Anthropic→Chat translation), LiteLLM's proxy and Portkey's gateway; added TTFT and inter-chunk latency per
    concurrency level, chunks/s and CPU per 1,000 chunks at saturation, peak memory."""
    settings = Settings(
        levels=_levels(levels),
        rounds=rounds,
        phase_s=phase_s,
        warmup_s=warmup_s,
        chunks=chunks,
        interval_ms=interval_ms,
        burst_chunks=burst_chunks,
        saturation_level=saturation,
        prompt_bytes=prompt_bytes,
        staggered=staggered,
    )
    names = _targets(targets)
    folder = out or Path("splitlane-bench") / f"{time.strftime('%Y%m%d-%H%M%S')}-overhead"
    folder.mkdir(parents=True, exist_ok=True)
    with ExitStack() as stack:
        try:
            started = start(names, stack, interval_ms, litellm_version, portkey_version)
        except ServerError as exc:
            console.print(f"[red]{exc}[/red]")
            raise typer.Exit(1) from exc
        console.print(
            f"{len(plan(settings, started))} phases of {warmup_s:g}+{phase_s:g} s: "
            f"{', '.join(names)} at c={levels}, then saturation at c={saturation}"
        )
        results = measure(settings, started)
        raw = None
        gateway = next((t for t in started if t.name == "splitlane"), None)
        if profile_s > 0 and gateway is not None:
            raw = profile(gateway, settings, profile_s, folder)
    from splitlane.bench.overhead import report  # matplotlib: imported only by the command that plots

    latency = report.latency_rows(results)
    sat = report.saturation_rows(results)
    console.print(report.latency_table(latency, interval_ms, staggered))
    console.print(report.saturation_table(sat))
    doc = report.document(results, latency, sat)
    for key, value in doc["ratios"].items():
        if key != "concurrency":
            console.print(f"{key} (c={doc['ratios']['concurrency']}): [bold]{value:.2f}x[/bold]")
    (folder / "overhead.json").write_bytes(orjson.dumps(doc, option=orjson.OPT_INDENT_2 | orjson.OPT_SERIALIZE_NUMPY))
    files = [folder / "overhead.json", report.plot(latency, sat, folder / "overhead.png")]
    if raw is not None:
        files.append(raw)
    console.print(f"wrote {', '.join(p.name for p in files)} to {folder}")
    if any(r.errors for r in latency) or any(r.errors for r in sat):
        for name, error, count in report.errors(results):
            console.print(f"[red]{name}: {count} × {error}[/red]")
        raise typer.Exit(1)
