"""``splitlane keys create|list|revoke``: gateway API keys, in the gateway's database."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path
from typing import Annotated, TypeVar

import orjson
import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy.exc import SQLAlchemyError

from splitlane.auth.keys import PERIODS, KeyStore, KeyStoreError
from splitlane.config import ConfigError, load_config
from splitlane.store.database import open_engine, redact_url
from splitlane.store.migrations import migrate

T = TypeVar("T")
LANES = ("plan", "act", "background")

keys_app = typer.Typer(help="Gateway API keys (stored hashed; the key is shown once).", no_args_is_help=True)

ConfigOption = Annotated[Path | None, typer.Option("--config", "-c", help="TOML config file")]
DatabaseOption = Annotated[str | None, typer.Option(help="database URL (default: the config's)")]


def _database(config: Path | None, database: str | None) -> str:
    if database:
        return database
    try:
        return load_config(config).database()
    except ConfigError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from exc


def _run(url: str, action: Callable[[KeyStore], Awaitable[T]]) -> T:
    async def run() -> T:
        engine = open_engine(url)
        try:
            await migrate(engine)
            return await action(KeyStore(engine))
        finally:
            await engine.dispose()

    try:
        return asyncio.run(run())
    except KeyStoreError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from exc
    except (OSError, SQLAlchemyError) as exc:
        typer.echo(f"error: cannot use {redact_url(url)}: {exc}", err=True)
        raise typer.Exit(1) from exc


def _split(value: str | None) -> tuple[str, ...]:
    return tuple(v.strip() for v in (value or "").split(",") if v.strip())


@keys_app.command("create")
def create(
    name: Annotated[str, typer.Argument(help="a name to recognise the key by (unique)")],
    models: Annotated[str | None, typer.Option(help="aliases it may use, comma-separated (fnmatch patterns)")] = None,
    lanes: Annotated[str | None, typer.Option(help="lanes it may use: plan,act,background")] = None,
    token_budget: Annotated[int | None, typer.Option(min=1, help="input + output tokens per period")] = None,
    budget_usd: Annotated[
        float | None, typer.Option(min=0.0, help="USD per period: the turns' costs at the price table (docs/costs.md)")
    ] = None,
    period: Annotated[str, typer.Option(help="budget period: " + " | ".join(PERIODS))] = "day",
    rpm: Annotated[int | None, typer.Option(min=1, help="requests per minute")] = None,
    max_streams: Annotated[int | None, typer.Option(min=1, help="requests in flight at once")] = None,
    admin: Annotated[bool, typer.Option("--admin", help="may also read /dashboard and /metrics")] = False,
    config: ConfigOption = None,
    database: DatabaseOption = None,
) -> None:
    """Create a key and print it (only now: the gateway keeps a hash)."""
    if period not in PERIODS:
        raise typer.BadParameter(f"choose one of {', '.join(PERIODS)}", param_hint="--period")
    chosen_lanes = _split(lanes)
    if unknown := [lane for lane in chosen_lanes if lane not in LANES]:
        raise typer.BadParameter(f"unknown lane {unknown[0]!r}: choose from {', '.join(LANES)}", param_hint="--lanes")
    if not name.strip() or len(name) > 100:
        raise typer.BadParameter("a name of 1 to 100 characters", param_hint="NAME")
    limits = {
        "models": _split(models),
        "lanes": chosen_lanes,
        "token_budget": token_budget,
        "usd_budget": budget_usd,
        "budget_period_s": PERIODS[period],
        "rpm": rpm,
        "max_streams": max_streams,
        "admin": admin,
    }
    secret, key = _run(_database(config, database), lambda store: store.create(name, **limits))
    typer.echo(secret)
    typer.echo(f"created key '{key.name}' ({key.id}; limits: {key.limits()}). It is shown only now.", err=True)


@keys_app.command("list")
def list_keys(
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
    revoked: Annotated[bool, typer.Option("--revoked", help="include revoked keys")] = False,
    config: ConfigOption = None,
    database: DatabaseOption = None,
) -> None:
    """The keys: name, id, the key's first characters, limits (never the key)."""
    keys = [k for k in _run(_database(config, database), KeyStore.all) if revoked or k.revoked_at is None]
    if as_json:
        typer.echo(orjson.dumps([k.public() for k in keys]).decode())
        return
    if not keys:
        typer.echo("no keys: splitlane keys create NAME")
        return
    table = Table("name", "id", "key", "created", "limits", *(["revoked"] if revoked else []))
    for key in keys:
        row = [key.name, key.id, key.hint + "…", _when(key.created_at), key.limits()]
        table.add_row(*row, *([_when(key.revoked_at) if key.revoked_at else ""] if revoked else []))
    Console(width=140).print(table)


@keys_app.command("revoke")
def revoke(
    name: Annotated[str, typer.Argument(help="the key's name or id")],
    config: ConfigOption = None,
    database: DatabaseOption = None,
) -> None:
    """Revoke a key: a running gateway refuses it within auth_refresh_s (2 s by default)."""
    key = _run(_database(config, database), lambda store: store.revoke(name))
    typer.echo(f"revoked key '{key.name}' ({key.id})")


def _when(at: float | None) -> str:
    return "" if at is None else datetime.fromtimestamp(at).strftime("%Y-%m-%d %H:%M")
