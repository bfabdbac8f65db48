"""What a turn's per-key limit work costs (admit, charge, release), kept in this process and shared
through PostgreSQL by one and by two gateway replicas: the numbers behind docs/reliability.md."""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncEngine

from splitlane.auth.keys import ApiKey
from splitlane.auth.limits import Limits, LocalLimits
from splitlane.auth.shared_limits import SharedLimits
from splitlane.store.database import open_engine
from splitlane.store.migrations import migrate
from splitlane.store.schema import key_leases, key_requests, key_spend

KEEPERS = ("local", "shared", "shared x2")  # local: the named baseline


@dataclass(frozen=True, slots=True)
class Run:
    keeper: str
    concurrency: int
    seconds: list[float]  # one turn's limit work each
    wall_s: float


def bench_key() -> ApiKey:
    """Every limit on, none reached during a run (the work of a refusal is the same work)."""
    return ApiKey(
        id="key_bench_" + secrets.token_hex(4),
        name="bench",
        hash="-",
        hint="-",
        created_at=0.0,
        rpm=10**9,
        max_streams=10**6,
        token_budget=10**12,
        usd_budget=10**9,
    )


async def _turns(limiters: list[Limits], key: ApiKey, turns: int, concurrency: int, tick: Callable[[], None]) -> Run:
    seconds: list[float] = []
    left = turns

    async def worker(limits: Limits) -> None:
        nonlocal left
        while left > 0:
            left -= 1
            start = time.perf_counter()
            admission = await limits.admit(key)
            await limits.charge(key, 100, 0.001)
            await limits.release(admission)
            seconds.append(time.perf_counter() - start)
            tick()

    start = time.perf_counter()
    await asyncio.gather(*(worker(limiters[n % len(limiters)]) for n in range(concurrency)))
    return Run("", concurrency, seconds, time.perf_counter() - start)


async def measure(url: str, turns: int, levels: list[int], rounds: int, tick: Callable[[], None]) -> list[Run]:
    """Each keeper at each concurrency, interleaved ``rounds`` times (the machine's drift hits all alike)."""
    setup = open_engine(url)
    await migrate(setup)
    engines: list[AsyncEngine] = [open_engine(url, counts=True) for _ in range(2)]  # as limits_for opens them
    shared = [SharedLimits(engine) for engine in engines]
    keepers: dict[str, list[Limits]] = {"local": [LocalLimits()], "shared": [shared[0]], "shared x2": [*shared]}
    key = bench_key()
    runs: list[Run] = []
    try:
        for _ in range(rounds):
            for concurrency in levels:
                for name, limiters in keepers.items():
                    run = await _turns(limiters, key, turns, concurrency, tick)
                    runs.append(Run(name, concurrency, run.seconds, run.wall_s))
    finally:
        async with setup.begin() as connection:
            for table in (key_requests, key_leases, key_spend):
                await connection.execute(delete(table).where(table.c.key_id == key.id))
        for limiter in shared:
            await limiter.aclose()
        for engine in (setup, *engines):
            await engine.dispose()
    return runs
