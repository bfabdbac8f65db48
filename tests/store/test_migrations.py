"""Versioned migrations: applied once, in order, on SQLite and PostgreSQL alike."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import insert, select, text

from splitlane.store.database import async_url, open_engine, redact_url
from splitlane.store.migrations import MIGRATIONS, SchemaTooNew, migrate
from splitlane.store.schema import schema_migrations


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


def test_urls_as_users_write_them() -> None:
    assert async_url("postgresql://u:p@h/db") == "postgresql+asyncpg://u:p@h/db"
    assert async_url("sqlite:////tmp/x.db") == "sqlite+aiosqlite:////tmp/x.db"
    assert redact_url("postgresql://user:secret@host:5432/db") == "postgresql://user:***@host:5432/db"
    assert "secret" not in redact_url("postgresql+asyncpg://user:secret@host/db")
