"""The ``splitlane`` command."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated

import typer
import uvicorn

from splitlane.api.app import create_app
from splitlane.cli.route import route_app, run_explain
from splitlane.config import Config, ConfigError, load_config
from splitlane.core.errors import SplitlaneError

app = typer.Typer(help="splitlane: one endpoint for coding agents.", no_args_is_help=True, add_completion=False)


app.add_typer(route_app, name="route")


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


def _load(path: Path | None) -> Config:
    try:
        return load_config(path)
    except ConfigError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from exc


@app.command()
def serve(
    config: Annotated[Path | None, typer.Option("--config", "-c", help="TOML config file")] = None,
    host: Annotated[str | None, typer.Option(help="address to listen on (overrides listen)")] = None,
    port: Annotated[int | None, typer.Option(help="port to listen on (overrides listen)")] = None,
    log_level: Annotated[str, typer.Option(help="uvicorn log level")] = "info",
) -> None:
    """Run the gateway (with no config: the embedded model under the alias 'local')."""
    settings = _load(config)
    listen_host = host or settings.host
    listen_port = port if port is not None else settings.port
    logging.basicConfig(level=log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    typer.echo(f"splitlane serving {', '.join(settings.models)} on http://{listen_host}:{listen_port}/v1")
    uvicorn.run(
        create_app(settings),
        host=listen_host,
        port=listen_port,
        log_level=log_level,
        loop="uvloop",
        http="httptools",
        timeout_graceful_shutdown=30,
    )


if __name__ == "__main__":
    app()
