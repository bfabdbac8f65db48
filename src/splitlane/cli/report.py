"""``splitlane report`` (the session table from the telemetry store, groups side by side) and
``splitlane capture export`` (captured turns as an agentsession/v1 trace)."""

from __future__ import annotations

import asyncio
import csv
import io
import math
import re
import time
from dataclasses import asdict
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson
from rich.console import Console

from splitlane.bench.convert import mooncake
from splitlane.bench.convert.capture import CapturedTurn, convert_captured, load_captured
from splitlane.bench.report import COST_ROWS, side_by_side
from splitlane.bench.trace import write_trace
from splitlane.store.database import open_engine, redact_url
from splitlane.store.migrations import migrate
from splitlane.telemetry.queries import Group, dropped_records, group_sessions, load_turns, spend

_DURATION = re.compile(r"^(\d+(?:\.\d+)?)\s*([smhdw])$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_time(value: str, now: float | None = None) -> float:
    """``30m``, ``2h``, ``7d`` ago, or an ISO 8601 date/time (local time when no zone is given)."""
    now = time.time() if now is None else now
    match = _DURATION.match(value.strip())
    if match:
        return now - float(match.group(1)) * _UNITS[match.group(2)]
    try:
        return datetime.fromisoformat(value.strip()).timestamp()
    except ValueError:
        raise ValueError(f"{value!r} is neither a duration (30m, 2h, 7d) nor an ISO date (2026-11-22T10:00)") from None


async def load_groups(url: str, by: str | None, since: float | None, until: float | None) -> tuple[list[Group], int]:
    engine = open_engine(url)
    try:
        await migrate(engine)  # an empty or older database reads as one with no turns yet
        records = await load_turns(engine, since, until)
        return group_sessions(records, by), await dropped_records(engine, since)
    finally:
        await engine.dispose()


def group_stats(groups: list[Group]) -> dict[str, dict[str, float]]:
    """Per group: the per-turn figures and the cost ones."""
    total = spend(groups)
    return {g.name: {**g.turn_stats, **g.costs(total)} for g in groups}


def _plain(value: Any) -> Any:
    return None if isinstance(value, float) and math.isnan(value) else value


def group_records(groups: list[Group]) -> list[dict[str, Any]]:
    stats = group_stats(groups)
    return [
        {"group": g.name, **{k: _plain(v) for k, v in {**asdict(g.table), **stats[g.name]}.items()}} for g in groups
    ]


def render(groups: list[Group], dropped: int, url: str, fmt: str, by: str | None) -> str:
    if fmt == "json":
        return orjson.dumps({"groups": group_records(groups), "dropped_records": dropped}).decode()
    if fmt == "csv":
        out = io.StringIO()
        rows = group_records(groups)
        if rows:
            writer = csv.DictWriter(out, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)
        return out.getvalue()
    console = Console(file=io.StringIO(), width=160, record=True)
    if not groups:
        console.print(f"no turns recorded in {redact_url(url)} for this period")
    else:
        title = f"sessions by {by}" if by else "sessions"
        console.print(side_by_side({g.name: g.table for g in groups}, group_stats(groups), title, COST_ROWS))
    if dropped:
        console.print(f"[bold red]{dropped} turn records were dropped[/] (telemetry queue full): figures undercount")
    return console.export_text()


def run_report(url: str, by: str | None, since: str | None, until: str | None, fmt: str) -> str:
    start = parse_time(since) if since else None
    end = parse_time(until) if until else None
    groups, dropped = asyncio.run(load_groups(url, by, start, end))
    return render(groups, dropped, url, fmt, by)


async def _captured_turns(url: str, since: float | None, session: str | None) -> list[CapturedTurn]:
    engine = open_engine(url)
    try:
        await migrate(engine)
        return await load_captured(engine, since, session)
    finally:
        await engine.dispose()


EXPORT_FORMATS = ("agentsession", "block-hash")


def run_export(
    url: str, output: Path, since: str | None, session: str | None, fmt: str = "agentsession", block_size: int = 512
) -> int:
    """``splitlane capture export``: the number of sessions written, as agentsession/v1 or as a
    block-hash trace (Mooncake's lines: what AIPerf replays; no text)."""
    if fmt not in EXPORT_FORMATS:
        raise ValueError(f"--format: {fmt!r} is none of {', '.join(EXPORT_FORMATS)}")
    captured = asyncio.run(_captured_turns(url, parse_time(since) if since else None, session))
    header, sessions = convert_captured(captured)
    if not sessions:
        return 0
    if fmt == "agentsession":
        write_trace(output, header, sessions)
    else:
        output.write_bytes(b"".join(orjson.dumps(row) + b"\n" for row in mooncake.export(sessions, block_size)))
    return len(sessions)
