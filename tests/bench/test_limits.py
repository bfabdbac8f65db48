"""`splitlane bench limits`: every keeper at every level measured, the bench key's rows gone after,
and a URL that is not PostgreSQL refused with a reason."""

from __future__ import annotations

import asyncio
from pathlib import Path

import orjson
from sqlalchemy import func, select
from typer.testing import CliRunner

from splitlane.cli.main import app
from splitlane.store.database import open_engine
from splitlane.store.schema import key_leases, key_requests, key_spend
from tests.conftest import postgres_url, reset_postgres


def _rows(url: str) -> int:
    async def count() -> int:
        engine = open_engine(url)
        try:
            async with engine.connect() as connection:
                tables = (key_requests, key_leases, key_spend)
                return sum(
                    [(await connection.execute(select(func.count()).select_from(t))).scalar_one() for t in tables]
                )
        finally:
            await engine.dispose()

    return asyncio.run(count())


def test_measures_each_keeper_and_leaves_no_rows(tmp_path: Path) -> None:
    url = postgres_url()
    asyncio.run(reset_postgres(url))
    args = ["bench", "limits", "--database", url, "--turns", "20", "--concurrency", "1,4", "--rounds", "1"]
    result = CliRunner().invoke(app, [*args, "--out", str(tmp_path)])
    assert result.exit_code == 0, result.output
    summary = orjson.loads((tmp_path / "limits.json").read_bytes())
    assert set(summary) == {f"{k} c={c}" for k in ("local", "shared", "shared x2") for c in (1, 4)}
    assert all(row["p50_us"] > 0 and row["turns_per_s"] > 0 for row in summary.values())
    assert "splitlane:***@" in result.output  # the password never printed
    assert _rows(url) == 0


def test_refuses_a_database_that_is_not_postgresql(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["bench", "limits", "--database", f"sqlite:///{tmp_path}/x.db"])
    assert result.exit_code != 0
    assert "PostgreSQL" in result.output
