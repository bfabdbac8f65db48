"""Versioned schema migrations, applied in order at start, each in its own transaction.

A database records the versions it has; a gateway applies the ones it lacks and refuses to run on
a database newer than itself (another replica upgraded first). Steps never change: a new column
or table is a new step.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import Connection, Table, insert, inspect, select, text
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from splitlane.store.schema import (
    api_keys,
    captures,
    key_leases,
    key_requests,
    key_spend,
    responses,
    schema_migrations,
    telemetry_drops,
    turns,
)


class SchemaTooNew(RuntimeError):
    """The database was migrated by a newer splitlane."""


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    description: str
    apply: Callable[[Connection], None]


def _responses(connection: Connection) -> None:
    responses.create(connection, checkfirst=True)  # databases from before migrations have it


def _telemetry(connection: Connection) -> None:
    turns.create(connection)
    telemetry_drops.create(connection)


def _captures(connection: Connection) -> None:
    captures.create(connection)


def _add_column(connection: Connection, table: Table, name: str) -> None:
    """Add a column of ``table`` (as schema.py defines it) unless the table was created with it."""
    if name in {c["name"] for c in inspect(connection).get_columns(table.name)}:
        return
    column = table.c[name]
    kind = column.type.compile(dialect=connection.dialect)
    default = column.server_default
    tail = f" NOT NULL DEFAULT {default.arg}" if default is not None else ""  # type: ignore[attr-defined]
    connection.execute(text(f"ALTER TABLE {table.name} ADD COLUMN {name} {kind}{tail}"))


def _keys(connection: Connection) -> None:
    api_keys.create(connection)
    _add_column(connection, turns, "api_key")
    _add_column(connection, responses, "api_key")


def _costs(connection: Connection) -> None:
    for name in ("cache_write_tokens", "cache_write_1h_tokens", "cost_usd", "price_source"):
        _add_column(connection, turns, name)
    _add_column(connection, api_keys, "usd_budget")


def _replica_picks(connection: Connection) -> None:
    for name in ("replica_policy", "replica_score", "replica_reason"):
        _add_column(connection, turns, name)


def _shared_limits(connection: Connection) -> None:
    for table in (key_requests, key_leases, key_spend):
        table.create(connection)


MIGRATIONS = (
    Migration(1, "stored Responses API objects", _responses),
    Migration(2, "per-turn telemetry and dropped-record counts", _telemetry),
    Migration(3, "captured turns for agentsession/v1 export", _captures),
    Migration(4, "gateway API keys; the key of each turn and stored response", _keys),
    Migration(5, "cache writes and cost of each turn; money budgets of keys", _costs),
    Migration(6, "how each turn's replica was chosen (policy, score, reason)", _replica_picks),
    Migration(7, "per-key requests, stream leases and spend shared by gateway replicas", _shared_limits),
)


MIGRATION_LOCK = {"ns": 0x5EA1, "id": 0}  # a PostgreSQL advisory lock: one replica migrates at a time


def _applied(connection: Connection) -> set[int]:
    schema_migrations.create(connection, checkfirst=True)
    return set(connection.execute(select(schema_migrations.c.version)).scalars())


async def migrate(engine: AsyncEngine) -> list[int]:
    """Apply every missing step; return the versions applied now. On PostgreSQL the whole run holds
    an advisory lock, so replicas starting together apply each step once (the others wait, then
    find it applied)."""
    locking = engine.dialect.name == "postgresql"
    async with engine.connect() as connection:
        if locking:
            await connection.execute(text("SELECT pg_advisory_lock(:ns, :id)"), MIGRATION_LOCK)
            await connection.commit()
        try:
            return await _migrate(connection)
        finally:
            if locking:
                await connection.rollback()
                await connection.execute(text("SELECT pg_advisory_unlock(:ns, :id)"), MIGRATION_LOCK)
                await connection.commit()


async def _migrate(connection: AsyncConnection) -> list[int]:
    applied = await connection.run_sync(_applied)
    await connection.commit()
    newest = MIGRATIONS[-1].version
    if applied and max(applied) > newest:
        raise SchemaTooNew(
            f"the database is at schema version {max(applied)}; this splitlane knows up to {newest}: upgrade it"
        )
    done: list[int] = []
    for step in MIGRATIONS:
        if step.version in applied:
            continue
        try:
            await connection.run_sync(step.apply)
            await connection.execute(
                insert(schema_migrations).values(
                    version=step.version, description=step.description, applied_at=time.time()
                )
            )
            await connection.commit()
        except BaseException:
            await connection.rollback()
            raise
        done.append(step.version)
    return done
