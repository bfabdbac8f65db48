"""The ``splitlane`` command."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Annotated

import typer
import uvicorn
from pydantic import ValidationError
from sqlalchemy.exc import SQLAlchemyError

from splitlane.api.app import create_app
from splitlane.bench.in_process import sim_settings
from splitlane.cli.bench import bench_app
from splitlane.cli.keys import keys_app
from splitlane.cli.launch import CLIENTS as LAUNCHED
from splitlane.cli.launch import launch as run_launch
from splitlane.cli.options import parse_pairs
from splitlane.cli.report import run_export, run_report
from splitlane.cli.route import route_app, run_explain
from splitlane.cli.served import served_models
from splitlane.cli.setup import plan_setup
from splitlane.config import Config, ConfigError, load_config
from splitlane.core.errors import SplitlaneError
from splitlane.sim_profiles import PROFILES
from splitlane.store.database import redact_url
from splitlane.telemetry.queries import GROUPINGS

app = typer.Typer(help="splitlane: one endpoint for coding agents.", no_args_is_help=True, add_completion=False)


app.add_typer(route_app, name="route")
app.add_typer(bench_app, name="bench")
app.add_typer(keys_app, name="keys")


@app.callback()
def main() -> None:
    """splitlane: one endpoint for coding agents."""


@route_app.command("explain")
def route_explain(
    request_file: Annotated[Path, typer.Argument(help="a request body (JSON) of any surface", exists=True)],
    header: Annotated[list[str] | None, typer.Option("--header", "-H", help="'name: value', repeatable")] = None,
    config: Annotated[Path | None, typer.Option("--config", "-c", help="TOML config file")] = None,
    surface: Annotated[str | None, typer.Option(help="responses | chat | messages (default: guessed)")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """Print the lane, the reason, the upstream and the replica a request would get."""
    try:
        run_explain(_load(config), request_file, header or [], surface, as_json)
    except SplitlaneError as exc:
        typer.echo(f"error: {exc.message}", err=True)
        raise typer.Exit(1) from exc


def _load(path: Path | None, **overrides: object) -> Config:
    try:
        return load_config(path, **overrides)
    except ConfigError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from exc


@app.command()
def setup(
    client: Annotated[str, typer.Argument(help="codex | claude-code | cline | opencode | qwen-code")],
    alias: Annotated[str, typer.Option(help="the splitlane model alias to use")] = "local",
    url: Annotated[str, typer.Option(help="where splitlane listens")] = "http://127.0.0.1:8080",
    key_env: Annotated[str, typer.Option(help="environment variable the client reads the key from")] = (
        "SPLITLANE_API_KEY"
    ),
    write: Annotated[bool, typer.Option("--write", help="write the settings file after showing the diff")] = False,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="with --write: do not ask")] = False,
) -> None:
    """Print (or write) the settings that point an agent at this gateway."""
    try:
        served = served_models(url, os.environ.get(key_env)) if client == "claude-code" else None
        plan = plan_setup(client, alias, url, key_env, Path.home(), Path.cwd(), (served or {}).get(alias))
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="CLIENT") from exc
    if not plan.files:
        typer.echo(plan.instructions)
        if write:
            typer.echo("error: Cline's settings cannot be written from outside its UI", err=True)
            raise typer.Exit(1)
        return
    if not write:
        for change in plan.files:
            typer.echo(f"# {change.path}\n{change.new}")
        typer.echo(f"# then:\n{plan.instructions}")
        return
    changes = [c for c in plan.files if c.diff()]
    if not changes:
        typer.echo("the settings already point at splitlane; nothing to change")
        return
    typer.echo("".join(c.diff() for c in changes))
    if not yes and not typer.confirm(f"write {', '.join(str(c.path) for c in changes)}?"):
        raise typer.Exit(1)
    for change in changes:
        change.path.parent.mkdir(parents=True, exist_ok=True)
        change.path.write_text(change.new, encoding="utf-8")
        typer.echo(f"wrote {change.path}")
    typer.echo(f"then:\n{plan.instructions}")


@app.command(context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def launch(
    ctx: typer.Context,
    client: Annotated[str, typer.Argument(help=" | ".join(LAUNCHED))],
    alias: Annotated[str, typer.Option(help="the splitlane model alias to use")] = "local",
    url: Annotated[str, typer.Option(help="where splitlane listens (started there if nothing answers)")] = (
        "http://127.0.0.1:8080"
    ),
    key_env: Annotated[str, typer.Option(help="environment variable the client reads the key from")] = (
        "SPLITLANE_API_KEY"
    ),
    config: Annotated[Path | None, typer.Option("--config", "-c", help="config of a gateway started here")] = None,
) -> None:
    """Start an agent pointed at the gateway, no settings file edited: `splitlane launch codex
    --alias coder -- exec "fix the tests"` (what follows `--` goes to the client)."""
    if client not in LAUNCHED:
        raise typer.BadParameter(f"one of {', '.join(LAUNCHED)}", param_hint="CLIENT")
    code = run_launch(client, alias, url, key_env, config, ctx.args, lambda text: typer.echo(text, err=True))
    raise typer.Exit(code)


@app.command()
def sim(
    profile: Annotated[str, typer.Option(help="a named profile: " + " | ".join(PROFILES))] = "fast",
    set_: Annotated[list[str] | None, typer.Option("--set", help="override a profile parameter: name=value")] = None,
    host: Annotated[str, typer.Option(help="address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="port to listen on")] = 9100,
    seed: Annotated[int | None, typer.Option(help="seed for the timing jitter")] = None,
    log_level: Annotated[str, typer.Option(help="uvicorn log level")] = "warning",
) -> None:
    """Run a simulated upstream that speaks all three APIs with the timing of a profile."""
    overrides = parse_pairs(set_ or [], "--set")
    try:
        settings = sim_settings(profile, overrides, seed)
    except ValidationError as exc:
        typer.echo(f"error: {exc.errors()[0]['msg']}", err=True)
        raise typer.Exit(2) from exc
    typer.echo(
        f"splitlane sim ({profile}{', ' if overrides else ''}{', '.join(set_ or [])}) on http://{host}:{port}/v1"
    )
    gateway = create_app(settings, settle_heap=True)
    uvicorn.run(gateway, host=host, port=port, log_level=log_level, loop="uvloop", http="httptools")


@app.command()
def serve(
    config: Annotated[Path | None, typer.Option("--config", "-c", help="TOML config file")] = None,
    host: Annotated[str | None, typer.Option(help="address to listen on (overrides listen)")] = None,
    port: Annotated[int | None, typer.Option(help="port to listen on (overrides listen)")] = None,
    log_level: Annotated[str, typer.Option(help="uvicorn log level")] = "info",
    access_log: Annotated[
        bool, typer.Option(help="one log line per HTTP request (every turn is already in the telemetry store)")
    ] = False,
) -> None:
    """Run the gateway (with no config: the embedded model under the alias 'local')."""
    settings = _load(config)
    listen_host = host or settings.host
    listen_port = port if port is not None else settings.port
    if (listen_host, listen_port) != (settings.host, settings.port):
        settings = _load(
            config, listen=f"[{listen_host}]:{listen_port}" if ":" in listen_host else f"{listen_host}:{listen_port}"
        )
    logging.basicConfig(level=log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    typer.echo(f"splitlane serving {', '.join(settings.models)} on http://{listen_host}:{listen_port}/v1")
    uvicorn.run(
        create_app(settings, settle_heap=True),
        host=listen_host,
        port=listen_port,
        log_level=log_level,
        access_log=access_log,  # off by default: formatting it cost ~0.5 ms per turn (bench overhead)
        loop="uvloop",
        http="httptools",
        timeout_graceful_shutdown=settings.shutdown_grace_s,
        ws_max_size=settings.max_body_bytes,  # a Responses WebSocket frame is a whole request body
        # permessage-deflate declined: it made a Codex turn 1.5x slower through the gateway (bench
        # websocket), for frames a tenth of what the HTTP path sends uncompressed
        ws_per_message_deflate=False,
    )


@app.command()
def report(
    by: Annotated[
        str | None, typer.Option(help="group sessions by lane | upstream | model | client | surface | key")
    ] = None,
    since: Annotated[str | None, typer.Option(help="from: 30m, 2h, 7d ago or an ISO date")] = None,
    until: Annotated[str | None, typer.Option(help="until: 30m, 2h, 7d ago or an ISO date")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
    as_csv: Annotated[bool, typer.Option("--csv", help="print CSV")] = False,
    config: Annotated[Path | None, typer.Option("--config", "-c", help="TOML config file")] = None,
    database: Annotated[str | None, typer.Option(help="database URL (default: the config's)")] = None,
) -> None:
    """The session table from the gateway's telemetry: effective tok/s, wall time, time split."""
    if as_json and as_csv:
        raise typer.BadParameter("choose one of --json and --csv")
    if by is not None and by not in GROUPINGS:
        raise typer.BadParameter(f"choose one of {', '.join(GROUPINGS)}", param_hint="--by")
    url = database or _load(config).database()
    try:
        text = run_report(url, by, since, until, "json" if as_json else "csv" if as_csv else "table")
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from exc
    except (OSError, SQLAlchemyError) as exc:
        typer.echo(f"error: cannot read {redact_url(url)}: {exc}", err=True)
        raise typer.Exit(1) from exc
    typer.echo(text.rstrip("\n"))


capture_app = typer.Typer(help="Turns the gateway captured ([telemetry] capture = true).", no_args_is_help=True)
app.add_typer(capture_app, name="capture")


@capture_app.command("export")
def capture_export(
    output: Annotated[Path, typer.Argument(help="file to write (.jsonl; agentsession/v1 also .jsonl.gz)")],
    since: Annotated[str | None, typer.Option(help="from: 30m, 2h, 7d ago or an ISO date")] = None,
    session: Annotated[str | None, typer.Option(help="only this session id")] = None,
    config: Annotated[Path | None, typer.Option("--config", "-c", help="TOML config file")] = None,
    database: Annotated[str | None, typer.Option(help="database URL (default: the config's)")] = None,
    fmt: Annotated[
        str,
        typer.Option(
            "--format", help="agentsession (content, replayable) | block-hash (Mooncake/AIPerf lines, no text)"
        ),
    ] = "agentsession",
    block_size: Annotated[int, typer.Option(help="block-hash: tokens per hash id", min=1)] = 512,
) -> None:
    """Write captured sessions as a trace that `splitlane bench --trace` replays, or as a block-hash
    trace for AIPerf and other replayers of Mooncake's format (token counts, timing, prefix sharing)."""
    url = database or _load(config).database()
    try:
        count = run_export(url, output, since, session, fmt, block_size)
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from exc
    except (OSError, SQLAlchemyError) as exc:
        typer.echo(f"error: cannot read {redact_url(url)}: {exc}", err=True)
        raise typer.Exit(1) from exc
    if not count:
        typer.echo("no captured turns: set `capture = true` under [telemetry] in the gateway's config", err=True)
        raise typer.Exit(1)
    typer.echo(f"wrote {count} sessions to {output}")


if __name__ == "__main__":
    app()
