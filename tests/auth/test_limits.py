"""Per-key limits, kept in this process (``LocalLimits``, SQLite) and in PostgreSQL shared by gateway
replicas (``SharedLimits``): the same refusals from both; with two replicas (an engine and a
limiter each, as two processes have) one key's rate, streams and budget hold across both."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Callable, Coroutine
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncEngine

from splitlane.auth.keys import ApiKey
from splitlane.auth.limits import Admission, Limits, LocalLimits
from splitlane.auth.shared_limits import SharedLimits, limits_for
from splitlane.core.errors import RateLimited
from splitlane.store.database import open_engine, sqlite_url
from splitlane.store.migrations import migrate
from splitlane.store.schema import turns
from tests.conftest import postgres_url, reset_postgres

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def key(**limits: Any) -> ApiKey:
    return ApiKey(id="key_" + limits.pop("id", "a"), name="ci", hash="h", hint="sl-", created_at=0.0, **limits)


@pytest.fixture
async def postgres() -> str:
    url = postgres_url()
    await reset_postgres(url)
    engine = open_engine(url)
    await migrate(engine)
    await engine.dispose()
    return url


@pytest.fixture
async def replicas(postgres: str) -> AsyncIterator[list[SharedLimits]]:
    """Two gateway replicas' limiters on one PostgreSQL."""
    limiters = [SharedLimits(open_engine(postgres)) for _ in range(2)]
    yield limiters
    for limiter in limiters:
        await limiter.aclose()
        await limiter.engine.dispose()


@pytest.fixture(params=["local", "shared"])
async def limits(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Limits]:
    """The same contract from both keepers (the store each is chosen for)."""
    url = sqlite_url(tmp_path / "splitlane.db") if request.param == "local" else postgres_url()
    if request.param == "shared":
        await reset_postgres(url)
    engine = open_engine(url)
    await migrate(engine)
    keeper = limits_for(engine)
    assert isinstance(keeper, LocalLimits if request.param == "local" else SharedLimits)
    yield keeper
    await keeper.aclose()
    await engine.dispose()


async def _outcomes(admit: Callable[[], Coroutine[Any, Any, Admission]], n: int) -> list[Admission | RateLimited]:
    async def one() -> Admission | RateLimited:
        try:
            return await admit()
        except RateLimited as refused:
            return refused

    return list(await asyncio.gather(*(one() for _ in range(n))))


async def test_requests_per_minute(limits: Limits) -> None:
    limited = key(rpm=3)
    outcomes = await _outcomes(lambda: limits.admit(limited), 5)
    admitted = [o for o in outcomes if isinstance(o, Admission)]
    refused = [o for o in outcomes if isinstance(o, RateLimited)]
    assert len(admitted) == 3
    assert len(refused) == 2
    assert "3 requests per minute" in str(refused[0])
    assert refused[0].retry_after_s is not None
    assert 55 <= refused[0].retry_after_s <= 60


async def test_streams_in_flight_are_given_back(limits: Limits) -> None:
    limited = key(max_streams=2)
    first = await limits.admit(limited)
    await limits.admit(limited)
    with pytest.raises(RateLimited, match="at most 2 requests in flight"):
        await limits.admit(limited)
    await limits.release(first)
    await limits.admit(limited)


async def test_budgets_refuse_once_spent_and_say_when_the_window_ends(limits: Limits) -> None:
    limited = key(token_budget=100, usd_budget=1.0, budget_period_s=3600)
    opened = await limits.admit(limited)
    assert opened.remaining_usd == 1.0
    await limits.charge(limited, 60, 0.25)
    assert (await limits.admit(limited)).remaining_usd == pytest.approx(0.75)
    await limits.charge(limited, 50, None)  # an unknown price spends nothing, its tokens count
    with pytest.raises(RateLimited, match="budget of 100 tokens") as refused:
        await limits.admit(limited)
    assert refused.value.retry_after_s is not None
    assert 0 < refused.value.retry_after_s <= 3600
    money = key(id="b", usd_budget=0.5)
    await limits.charge(money, 10, 0.5)
    with pytest.raises(RateLimited, match=r"spent its budget of \$0.50"):
        await limits.admit(money)


async def test_a_budget_starts_from_what_telemetry_recorded_in_its_window(limits: Limits) -> None:
    """An upgraded gateway (or one restarted, for the local keeper) keeps the day's use."""
    engine: AsyncEngine = limits.engine  # type: ignore[attr-defined]
    row = {c.name: 0 for c in turns.columns}
    row.update(id="t1", session="s", session_source="header", client="c", surface="chat", model="m", lane="act",
               lane_reason="", upstream="u/m", replica="", stream=False, status="ok", prompt_hash="h",
               error=None, stop_reason=None, price_source=None, replica_policy=None, replica_reason=None,
               t_recv=time.time(), input_tokens=70, output_tokens=40, cost_usd=0.1, api_key="key_a")  # fmt: skip
    async with engine.begin() as connection:
        await connection.execute(insert(turns).values(row))
    with pytest.raises(RateLimited, match="budget of 100 tokens"):
        await limits.admit(key(token_budget=100))


async def test_a_key_without_limits_is_never_counted(limits: Limits) -> None:
    free = key()
    admissions = [await limits.admit(free) for _ in range(50)]
    assert all(a.remaining_usd is None and a.lease is None for a in admissions)


async def test_two_replicas_share_one_rate_limit(replicas: list[SharedLimits]) -> None:
    limited = key(rpm=10)
    outcomes = await _outcomes(lambda: replicas[0].admit(limited), 15)
    outcomes += await _outcomes(lambda: replicas[1].admit(limited), 15)
    assert sum(isinstance(o, Admission) for o in outcomes) == 10  # not 10 each: exact, however they interleave


async def test_a_burst_on_both_replicas_at_once_stays_within_the_rate(replicas: list[SharedLimits]) -> None:
    limited = key(rpm=20)
    both = await asyncio.gather(*(_outcomes(lambda r=r: r.admit(limited), 30) for r in replicas))  # type: ignore[misc]
    assert sum(isinstance(o, Admission) for o in both[0] + both[1]) == 20


async def test_two_replicas_share_one_stream_limit(replicas: list[SharedLimits]) -> None:
    limited = key(max_streams=2)
    a = await replicas[0].admit(limited)
    await replicas[1].admit(limited)
    for replica in replicas:
        with pytest.raises(RateLimited, match="at most 2"):
            await replica.admit(limited)
    await replicas[0].release(a)  # ended on one replica: the other may start one
    await replicas[1].admit(limited)


async def test_two_replicas_share_one_budget(replicas: list[SharedLimits]) -> None:
    limited = key(token_budget=100)
    await replicas[0].admit(limited)
    await replicas[1].admit(limited)
    await replicas[0].charge(limited, 60, None)
    await replicas[1].admit(limited)  # 60 of 100: still open
    await replicas[1].charge(limited, 45, None)
    for replica in replicas:
        with pytest.raises(RateLimited, match="budget of 100 tokens"):
            await replica.admit(limited)


async def test_a_killed_gateways_streams_free_themselves(postgres: str) -> None:
    """A gateway that dies mid-turn never releases nor renews: its leases expire after ``lease_s``;
    one that lives renews its leases past that."""
    dead, living, other = (SharedLimits(open_engine(postgres), lease_s=0.6) for _ in range(3))
    try:
        held = key(id="held", max_streams=1)
        await living.admit(held)
        living.start()  # renews every 0.2 s
        await dead.admit(key(max_streams=1))
        with pytest.raises(RateLimited):
            await other.admit(key(max_streams=1))
        await asyncio.sleep(1.0)
        await other.admit(key(max_streams=1))  # the dead gateway's lease has expired
        with pytest.raises(RateLimited):
            await other.admit(held)  # the living one's has not
    finally:
        for limiter in (dead, living, other):
            await limiter.aclose()
            await limiter.engine.dispose()


async def test_without_its_database_a_replica_counts_alone_and_says_so(caplog: pytest.LogCaptureFixture) -> None:
    gone = SharedLimits(open_engine("postgresql://splitlane:x@127.0.0.1:9/none"), timeout_s=2.0)
    limited = key(rpm=2, max_streams=5, token_budget=1000)
    try:
        with caplog.at_level(logging.WARNING, "splitlane.auth"):
            first = await gone.admit(limited)
            await gone.admit(limited)
            with pytest.raises(RateLimited, match="2 requests per minute"):  # still enforced, by this process
                await gone.admit(limited)
            await gone.charge(limited, 10, None)
            await gone.release(first)
        assert not first.shared
        assert gone.fallbacks == 3
        assert caplog.text.count("counting in this process only") == 1  # once a minute, not once a turn
    finally:
        await gone.aclose()
        await gone.engine.dispose()


async def test_a_lease_whose_release_failed_is_not_renewed_forever(postgres: str) -> None:
    """The delete at a turn's end fails (the database blinked): the gateway's renewer must delete
    that lease, not keep renewing it with the live ones."""
    limiter = SharedLimits(open_engine(postgres), lease_s=0.6)
    limited = key(max_streams=1)
    try:
        limiter.start()
        admission = await limiter.admit(limited)
        execute = limiter._execute

        async def blinking(*args: Any) -> None:
            raise OSError("connection reset")

        limiter._execute = blinking  # type: ignore[method-assign]
        await limiter.release(admission)
        limiter._execute = execute  # type: ignore[method-assign]
        await asyncio.sleep(1.0)  # past lease_s: renewed all along if the renewer kept it
        await limiter.admit(limited)
    finally:
        await limiter.aclose()
        await limiter.engine.dispose()
