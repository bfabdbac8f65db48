"""Versioned migrations: applied once, in order, on SQLite and PostgreSQL alike."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import insert, select, text

from splitlane.store.database import async_url, open_engine, redact_url
from splitlane.store.migrations import MIGRATIONS, SchemaTooNew, migrate
from splitlane.store.schema import schema_migrations, turns
from splitlane.telemetry.queries import load_turns
from splitlane.telemetry.records import TurnRecord
from tests.conftest import postgres_url, reset_postgres


async def _versions(url: str) -> list[int]:
    engine = open_engine(url)
    async with engine.connect() as connection:
        versions = list((await connection.execute(select(schema_migrations.c.version))).scalars())
    await engine.dispose()
    return sorted(versions)


def test_applies_every_step_once(database_url: str) -> None:
    async def scenario() -> tuple[list[int], list[int]]:
        engine = open_engine(database_url)
        first = await migrate(engine)
        second = await migrate(engine)
        await engine.dispose()
        return first, second

    first, second = asyncio.run(scenario())
    assert first == [m.version for m in MIGRATIONS]
    assert second == []
    assert asyncio.run(_versions(database_url)) == first


def test_a_database_from_before_migrations_keeps_its_responses(database_url: str) -> None:
    async def scenario() -> int:
        engine = open_engine(database_url)
        async with engine.begin() as connection:  # what the gateway created before versioned migrations
            await connection.execute(
                text(
                    "CREATE TABLE responses (id VARCHAR(64) PRIMARY KEY, created_at INTEGER NOT NULL, "
                    "model VARCHAR(256) NOT NULL, response TEXT NOT NULL, conversation TEXT NOT NULL)"
                )
            )
            await connection.execute(text("INSERT INTO responses VALUES ('resp_1', 1, 'm', '{}', '[]')"))
        await migrate(engine)
        async with engine.connect() as connection:
            count = (await connection.execute(text("SELECT count(*) FROM responses"))).scalar_one()
        await engine.dispose()
        return int(count)

    assert asyncio.run(scenario()) == 1


def test_refuses_a_database_migrated_by_a_newer_splitlane(database_url: str) -> None:
    async def scenario() -> None:
        engine = open_engine(database_url)
        await migrate(engine)
        async with engine.begin() as connection:
            await connection.execute(insert(schema_migrations).values(version=999, description="future", applied_at=0))
        try:
            await migrate(engine)
        finally:
            await engine.dispose()

    with pytest.raises(SchemaTooNew, match="999"):
        asyncio.run(scenario())


def test_replicas_starting_together_apply_each_step_once() -> None:
    """Four gateways (an engine each, as separate processes have) migrate an empty PostgreSQL at
    once: the advisory lock lets one apply the steps; the others wait and find them applied."""
    url = postgres_url()
    asyncio.run(reset_postgres(url))

    async def scenario() -> list[list[int]]:
        engines = [open_engine(url) for _ in range(4)]
        try:
            return list(await asyncio.gather(*(migrate(engine) for engine in engines)))
        finally:
            await asyncio.gather(*(engine.dispose() for engine in engines))

    runs = asyncio.run(scenario())
    applied = sorted(v for run in runs for v in run)
    assert applied == [m.version for m in MIGRATIONS]  # each step once, by whichever got the lock
    assert asyncio.run(_versions(url)) == applied


def test_urls_as_users_write_them() -> None:
    assert async_url("postgresql://u:p@h/db") == "postgresql+asyncpg://u:p@h/db"
    assert async_url("sqlite:////tmp/x.db") == "sqlite+aiosqlite:////tmp/x.db"
    assert redact_url("postgresql://user:secret@host:5432/db") == "postgresql://user:***@host:5432/db"
    assert "secret" not in redact_url("postgresql+asyncpg://user:secret@host/db")


def test_a_version_4_database_gets_costs_and_keeps_its_turns(database_url: str) -> None:
    """Migration 5 adds cache writes, cost and price source to turns (old turns: 0 writes, unknown
    cost) and a money budget to keys, migration 6 how the replica was chosen, on a database whose
    tables predate those columns."""
    new_turn_columns = ("cache_write_tokens", "cache_write_1h_tokens", "cost_usd", "price_source")
    new_turn_columns += ("replica_policy", "replica_score", "replica_reason")

    async def scenario() -> list[TurnRecord]:
        engine = open_engine(database_url)
        await migrate(engine)
        async with engine.begin() as connection:  # back to what version 4 created
            for column in new_turn_columns:
                await connection.execute(text(f"ALTER TABLE turns DROP COLUMN {column}"))
            await connection.execute(text("ALTER TABLE api_keys DROP COLUMN usd_budget"))
            await connection.execute(text("DELETE FROM schema_migrations WHERE version IN (5, 6)"))
            old = {c.name: 0 for c in turns.columns if c.name not in new_turn_columns}
            nulls = ("error", "stop_reason", "t_up", "t_first", "gap_before_s", "queue_wait_s", "prefill_s",
                     "drafted_tokens", "accepted_tokens", "api_key")  # fmt: skip
            old.update(dict.fromkeys(nulls))
            old.update(id="t1", session="s", session_source="header", client="c", surface="chat", model="m",
                       lane="act", lane_reason="", upstream="u/m", replica="", stream=False, status="ok",
                       prompt_hash="h")  # fmt: skip
            columns = ", ".join(old)
            await connection.execute(text(f"INSERT INTO turns ({columns}) VALUES (:{', :'.join(old)})"), old)
        assert await migrate(engine) == [5, 6]
        try:
            return await load_turns(engine)
        finally:
            await engine.dispose()

    (turn,) = asyncio.run(scenario())
    assert turn.id == "t1"
    assert turn.cache_write_tokens == 0
    assert turn.cost_usd is None
    assert turn.price_source is None
    assert turn.replica_policy is None  # an old turn: chosen before policies were recorded
