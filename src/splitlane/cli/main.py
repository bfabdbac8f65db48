"""The ``splitlane`` command."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated

import typer
import uvicorn

from splitlane.api.app import create_app
from splitlane.config import ConfigError, load_config

app = typer.Typer(help="splitlane: one endpoint for coding agents.", no_args_is_help=True, add_completion=False)


@app.callback()
def main() -> None:
    """splitlane: one endpoint for coding agents."""


@app.command()
def serve(
    config: Annotated[Path | None, typer.Option("--config", "-c", help="TOML config file")] = None,
    host: Annotated[str | None, typer.Option(help="address to listen on (overrides listen)")] = None,
    port: Annotated[int | None, typer.Option(help="port to listen on (overrides listen)")] = None,
    log_level: Annotated[str, typer.Option(help="uvicorn log level")] = "info",
) -> None:
    """Run the gateway (with no config: the embedded model under the alias 'local')."""
    try:
        settings = load_config(config)
    except ConfigError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from exc
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
