"""The telemetry writer and its queries, against SQLite and PostgreSQL: rows round-trip exactly,
a full queue drops records and counts them (stored and reported), a flush at close loses nothing."""

from __future__ import annotations

import asyncio
import dataclasses

import pytest
from sqlalchemy import func, select

from splitlane.store.database import open_engine
from splitlane.store.migrations import migrate
from splitlane.store.schema import captures
from splitlane.telemetry.metrics import summarize_session
from splitlane.telemetry.queries import dropped_records, group_sessions, load_turns
from splitlane.telemetry.records import Clock, TurnRecord
from splitlane.telemetry.writer import Captured, TelemetryWriter


def record(n: int, session: str = "s1", lane: str = "act", t0: float = 1_000.0, **changes: object) -> TurnRecord:
    base = TurnRecord(
        id=f"turn-{session}-{n}",
        session=session,
        session_source="fingerprint",
        client="codex",
        surface="responses",
        model="coder",
        lane=lane,
        lane_reason="marker: plan mode",
        upstream=f"up-{lane}/m",
        replica="http://127.0.0.1:1",
        fallbacks=0,
        stream=True,
        status="ok",
        error=None,
        stop_reason="end_turn",
        t_recv=t0 + 10 * n,
        t_up=t0 + 10 * n + 0.01,
        t_first=t0 + 10 * n + 1.0,
        t_last=t0 + 10 * n + 3.0,
        gap_before_s=None if n == 0 else 7.0,
        input_tokens=1000 * (n + 1),
        cached_input_tokens=900 * n,
        output_tokens=101,
        reasoning_tokens=0,
        tool_calls=1,
        messages=2 * n + 1,
        prompt_chars=4000 * (n + 1),
        prompt_hash=f"{n:024x}",
    )
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


def test_rows_round_trip_and_summaries_follow_the_definitions(database_url: str) -> None:
    async def scenario() -> list[TurnRecord]:
        engine = open_engine(database_url)
        await migrate(engine)
        writer = TelemetryWriter(engine, Clock.start(), batch_size=3)
        writer.start()
        for n in range(5):
            await writer.write(record(n), None, wait_s=5)
        await writer.aclose()
        rows = await load_turns(engine)
        await engine.dispose()
        return rows

    rows = asyncio.run(scenario())
    assert rows == [record(n) for n in range(5)]  # every field, floats included
    summary = summarize_session([r.times for r in rows])
    assert summary.wall_s == pytest.approx(43.0)  # t_last(last) − t_recv(first)
    assert summary.wait_s == pytest.approx(5.0)
    assert summary.decode_s == pytest.approx(10.0)
    assert summary.gap_s == pytest.approx(28.0)  # 4 gaps of 7 s
    assert summary.effective_tps == pytest.approx(505 / 43.0)
    assert rows[0].decode_tps == pytest.approx(100 / 2.0)


def test_a_full_queue_drops_and_counts_and_the_count_is_stored(database_url: str) -> None:
    async def scenario() -> tuple[int, int, int]:
        engine = open_engine(database_url)
        await migrate(engine)
        writer = TelemetryWriter(engine, Clock.start(), queue_size=4, batch_size=2)
        futures = [writer.submit(record(n)) for n in range(10)]  # the writer task is not running yet
        assert sum(f is None for f in futures) == 6
        writer.start()
        await writer.aclose()
        stored = len(await load_turns(engine))
        dropped = await dropped_records(engine)
        await engine.dispose()
        return writer.stats.dropped, stored, dropped

    assert asyncio.run(scenario()) == (6, 4, 6)


def test_captured_content_is_stored_with_its_turn(database_url: str) -> None:
    async def scenario() -> int:
        engine = open_engine(database_url)
        await migrate(engine)
        writer = TelemetryWriter(engine, Clock.start())
        writer.start()
        await writer.write(record(0), Captured('{"messages": []}', '{"message": {}}'), wait_s=5)
        await writer.aclose()
        async with engine.connect() as connection:
            count = (await connection.execute(select(func.count()).select_from(captures))).scalar_one()
        await engine.dispose()
        return int(count)

    assert asyncio.run(scenario()) == 1


def test_sessions_spanning_lanes_are_attributed_per_lane() -> None:
    # plan turn 0, act turns 1-2 in one session; a second session all act
    turns = [record(0, lane="plan"), record(1), record(2), record(0, session="s2"), record(1, session="s2")]
    groups = {g.name: g for g in group_sessions(turns, "lane")}
    assert groups["act"].table.sessions == 2
    assert groups["plan"].table.sessions == 1
    plan = groups["plan"].sessions[0]
    assert plan.wall_s == pytest.approx(3.0)  # its only turn: TTFT 1 s + decode 2 s, no gap before
    spanning = next(s for s in groups["act"].sessions if s.turns == 2 and s.gap_s > 7)
    assert spanning.wall_s == pytest.approx(2 * (7.0 + 3.0))  # gap + TTFT + decode of its two act turns
    assert spanning.wall_s == pytest.approx(spanning.wait_s + spanning.decode_s + spanning.gap_s)
    whole = group_sessions(turns, None)
    assert [g.name for g in whole] == ["all"]
    assert whole[0].table.sessions == 2
    with pytest.raises(ValueError, match="group by"):
        group_sessions(turns, "colour")
