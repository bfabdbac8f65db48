"""TraceLab round traces -> agentsession/v1 (metadata replay with synthetic content).

One line per model round: ``input_tokens_total`` is the prompt, ``prefix_tokens`` the cached part,
``newly_append_tokens`` what this round appended, ``output_tokens`` the completion. The gap after a
round runs from its last timing event to the next round's first one (tool time, or a human).
"""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import datetime
from pathlib import Path
from typing import Any

from splitlane.bench.trace import FileHeader, Session, SessionLine, Source, TurnInput, TurnLine, TurnOutput, TurnTiming


def _ts(value: str) -> float:
    return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()


def _span(row: dict[str, Any]) -> tuple[float | None, float | None]:
    stamps = [_ts(e["timestamp"]) for e in row.get("timing_events") or [] if e.get("timestamp")]
    return (min(stamps), max(stamps)) if stamps else (None, None)


def convert(path: Path) -> tuple[FileHeader, list[Session]]:
    by_session: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for raw in path.read_text(encoding="utf-8").splitlines():
        if raw.strip():
            row = json.loads(raw)
            by_session[row["session_id"]].append(row)
    sessions = []
    starts = {sid: _span(sorted(rows, key=lambda r: r["round_index"])[0])[0] for sid, rows in by_session.items()}
    trace_start = min((s for s in starts.values() if s is not None), default=0.0)
    for session_id, rows in by_session.items():
        rows.sort(key=lambda r: r["round_index"])
        spans = [_span(r) for r in rows]
        first = spans[0][0] or 0.0
        turns = []
        for i, row in enumerate(rows):
            start, end = spans[i]
            next_start = spans[i + 1][0] if i + 1 < len(rows) else None
            gap = max(0.0, next_start - end) if next_start is not None and end is not None else None
            has_tools = bool(row.get("tools"))
            turns.append(
                TurnLine(
                    session_id=session_id,
                    turn_index=i,
                    input=TurnInput(
                        prompt_tokens=row["input_tokens_total"],
                        prompt_tokens_source="trace",
                        new_tokens=row.get("newly_append_tokens"),
                        cached_tokens_recorded=row.get("prefix_tokens"),
                    ),
                    output=TurnOutput(
                        completion_tokens=max(1, int(row.get("output_tokens") or 1)),
                        reasoning_tokens=int(row.get("reasoning_output_tokens") or 0),
                        stop_reason="tool_calls" if has_tools else "stop",
                        max_tokens=max(1, int(row.get("output_tokens") or 1)),
                    ),
                    timing=TurnTiming(
                        t_start=(start - first) if start is not None else None,
                        gap_after=gap,
                        gap_kind="tool" if has_tools else "human",
                        tools=[
                            {
                                "name": t.get("tool_name"),
                                "duration": (t.get("tool_wall_latency_ms") or 0) / 1000,
                                "status": "error" if t.get("is_error") else "ok",
                            }
                            for t in row.get("tools") or []
                        ],
                    ),
                )
            )
        header = SessionLine(
            session_id=f"tracelab:{session_id}",
            content_mode="synthetic",
            source=Source(kind="tracelab", uri=path.name, license="CC BY 4.0", model_recorded=rows[0].get("model")),
            arrival_offset_s=(starts[session_id] or trace_start) - trace_start,
            tags={"provider": str(rows[0].get("provider", ""))},
        )
        for turn in turns:
            turn.session_id = header.session_id
        sessions.append(Session(header=header, turns=turns))
    file_header = FileHeader(
        created_by="splitlane bench convert tracelab",
        token_count_unit="recorded_model_tokens",
        notes=f"converted from {path.name} (TraceLab, University of Washington SyFI lab)",
    )
    return file_header, sessions
