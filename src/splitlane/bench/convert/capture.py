"""Captured gateway turns (``[telemetry] capture = true``) → ``agentsession/v1``, for replay.

Each session's first prompt becomes its ``initial_messages``; each later turn's delta is what its
prompt adds to the previous prompt plus the previous reply. A prompt that does not extend the
previous one (compaction, a client that rewrote history) starts over with ``replace_history``.
Timing comes from the turn records: TTFT, API time, the gap after each turn.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from splitlane.bench.trace import FileHeader, Session, SessionLine, Source, TurnInput, TurnLine, TurnOutput, TurnTiming
from splitlane.store.schema import captures, turns
from splitlane.telemetry.records import TurnRecord

STOP_REASONS = {"tool_use": "tool_calls", "end_turn": "stop", "max_tokens": "length", "stop_sequence": "stop"}


@dataclass(frozen=True, slots=True)
class CapturedTurn:
    record: TurnRecord
    request: dict[str, Any]
    output: dict[str, Any]


async def load_captured(
    engine: AsyncEngine, since: float | None = None, session: str | None = None
) -> list[CapturedTurn]:
    query = (
        select(turns, captures.c.request, captures.c.output)
        .join(captures, captures.c.turn_id == turns.c.id)
        .order_by(turns.c.t_recv)
    )
    if since is not None:
        query = query.where(turns.c.t_recv >= since)
    if session is not None:
        query = query.where(turns.c.session == session)
    async with engine.connect() as connection:
        rows = (await connection.execute(query)).all()
    return [CapturedTurn(TurnRecord.from_row(r), orjson.loads(r.request), orjson.loads(r.output)) for r in rows]


def _same(a: Sequence[dict[str, Any]], b: Sequence[dict[str, Any]]) -> bool:
    return [orjson.dumps(m, option=orjson.OPT_SORT_KEYS) for m in a] == [
        orjson.dumps(m, option=orjson.OPT_SORT_KEYS) for m in b
    ]


def _session(name: str, captured: Sequence[CapturedTurn], t0: float) -> Session:
    first = captured[0]
    start = first.record.t_recv
    lines: list[TurnLine] = []
    history: list[dict[str, Any]] = list(first.request["messages"])
    for i, shot in enumerate(captured):
        prompt = shot.request["messages"]
        if i == 0:
            delta, replace = [], False
        elif len(prompt) >= len(history) and _same(prompt[: len(history)], history):
            delta, replace = prompt[len(history) :], False
        else:
            delta, replace = list(prompt), True
        message = shot.output["message"]
        history = [*prompt, message]
        record = shot.record
        following = captured[i + 1].record.gap_before_s if i + 1 < len(captured) else None
        lines.append(
            TurnLine(
                session_id=name,
                turn_index=i,
                input=TurnInput(
                    delta_messages=delta,
                    replace_history=replace,
                    prompt_tokens=record.input_tokens,
                    cached_tokens_recorded=record.cached_input_tokens,
                ),
                output=TurnOutput(
                    message=message,
                    completion_tokens=record.output_tokens,
                    reasoning_tokens=record.reasoning_tokens,
                    stop_reason=STOP_REASONS.get(record.stop_reason or "", record.stop_reason or "stop"),
                    max_tokens=record.output_tokens,
                ),
                timing=TurnTiming(
                    t_start=record.t_recv - start,
                    api_time=record.t_last - record.t_recv,
                    ttft=record.ttft_s,
                    gap_after=following,
                    gap_kind=None if following is None else ("tool" if message.get("tool_calls") else "human"),
                ),
            )
        )
    header = SessionLine(
        session_id=name,
        source=Source(kind="splitlane-capture", model_recorded=first.record.upstream),
        tools=first.request.get("tools") or None,
        initial_messages=list(first.request["messages"]),
        arrival_offset_s=start - t0,
        tags={"client": first.record.client, "lanes": ",".join(sorted({c.record.lane for c in captured}))},
    )
    return Session(header=header, turns=lines)


def convert_captured(captured: Sequence[CapturedTurn]) -> tuple[FileHeader, list[Session]]:
    grouped: dict[str, list[CapturedTurn]] = defaultdict(list)
    for shot in captured:
        if shot.record.status == "ok":
            grouped[shot.record.session].append(shot)
    t0 = min((shots[0].record.t_recv for shots in grouped.values()), default=0.0)
    sessions = [_session(name, shots, t0) for name, shots in grouped.items()]
    header = FileHeader(
        created_by="splitlane capture export",
        token_count_unit="recorded_model_tokens",
        notes="captured by the gateway; contents redacted by [telemetry] capture_redact",
    )
    return header, sessions
