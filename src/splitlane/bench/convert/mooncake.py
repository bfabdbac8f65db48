"""Block-hash traces (the Mooncake trace format, which AIPerf replays and agentic trace sets such
as SemiAnalysis' Claude Code traces follow) -> agentsession/v1, content made up at replay.

One JSON object per request: ``timestamp`` (ms since the first request), ``input_length`` and
``output_length`` (tokens), ``hash_ids`` (one id per ``block_size``-token block of the prompt;
equal ids, equal blocks: a shared id is a shared prefix), and, for multi-turn traces,
``session_id`` (lines of one session in order; without it every line is a session of one turn).
No text: the sessions are ``synthetic`` and the replay writes each block's filler from its id
(``bench/content.py``), the same for every session of one run, so a provider's prefix cache sees
the sharing the trace recorded. What is lost: the text itself, tool calls (every reply is text),
and the time between a reply and the next request of a session, which the format does not
separate from the model's own time (the replay's gap policy decides it).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from splitlane.bench.trace import FileHeader, Session, SessionLine, Source, TurnInput, TurnLine, TurnOutput, TurnTiming

BLOCK_SIZE = 512  # tokens per hash id, as Mooncake's and AIPerf's default


def convert(path: Path, block_size: int = BLOCK_SIZE) -> tuple[FileHeader, list[Session]]:
    rows: dict[str, list[dict[str, Any]]] = {}
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not raw.strip():
            continue
        row = json.loads(raw)
        if not isinstance(row, dict) or not isinstance(row.get("input_length"), int):
            raise ValueError(f"{path.name}:{number}: a request needs an integer input_length")
        key = str(row.get("session_id", f"request-{number}"))
        rows.setdefault(key, []).append(row)
    sessions = [_session(key, lines, path, block_size) for key, lines in rows.items()]
    header = FileHeader(
        created_by="splitlane bench convert mooncake",
        token_count_unit="recorded_model_tokens",
        notes=f"converted from {path.name} (block-hash trace, {block_size}-token blocks)",
    )
    return header, sessions


def _session(key: str, lines: list[dict[str, Any]], path: Path, block_size: int) -> Session:
    start_ms = float(lines[0].get("timestamp") or 0)
    session_id = f"mooncake:{key}"
    turns = [
        TurnLine(
            session_id=session_id,
            turn_index=i,
            input=TurnInput(
                prompt_tokens=int(line["input_length"]),
                prompt_tokens_source="trace",
                hash_ids=[int(h) for h in line.get("hash_ids") or []] or None,
            ),
            output=TurnOutput(
                completion_tokens=max(1, int(line.get("output_length") or 1)),
                max_tokens=max(1, int(line.get("output_length") or 1)),
            ),
            timing=TurnTiming(t_start=(float(line.get("timestamp") or 0) - start_ms) / 1000),
        )
        for i, line in enumerate(lines)
    ]
    return Session(
        header=SessionLine(
            session_id=session_id,
            source=Source(kind="mooncake-trace", uri=path.name),
            content_mode="synthetic",
            arrival_offset_s=start_ms / 1000,
            block_size=block_size,
        ),
        turns=turns,
    )
