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

``export`` goes the other way (``splitlane capture export --format block-hash``): sessions with
content → one line per turn, each prompt (tools, then each message's role and text, as routing
hashes it) cut into blocks of ``block_size`` tokens' worth of characters — one ratio of characters to
recorded prompt tokens for the whole file, so a block boundary falls at the same character in every
turn and a shared prefix gives shared ids — each block's id chaining the ones before it (ids are
numbered in order of first appearance, as Mooncake's are). What the export loses: the text (only
its sharing survives), where a block boundary falls in tokens (characters stand in: ``input_length``
is the recorded count, the number of ids follows the characters, within a few per cent of
``input_length / block_size`` where the ratio is even), tool calls and gaps.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from splitlane.api.chat.decode import decode_request
from splitlane.api.chat.schema import ChatBody
from splitlane.bench.trace import (
    FileHeader,
    Session,
    SessionLine,
    Source,
    TurnInput,
    TurnLine,
    TurnOutput,
    TurnTiming,
    history_at,
)
from splitlane.routing.prefixes import chained_hashes, prompt_texts

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


CHARS_PER_TOKEN = 4.0  # where no turn recorded its prompt tokens


def export(sessions: Sequence[Session], block_size: int = BLOCK_SIZE) -> list[dict[str, Any]]:
    """Sessions with content → block-hash lines, ordered by time (a session's turns in order)."""
    prompts = [[_prompt_text(session, i) for i in range(len(session.turns))] for session in sessions]
    recorded = [
        (len(text), turn.input.prompt_tokens)
        for session, texts in zip(sessions, prompts, strict=True)
        for turn, text in zip(session.turns, texts, strict=True)
        if turn.input.prompt_tokens
    ]
    chars_per_token = sum(c for c, _ in recorded) / sum(t for _, t in recorded) if recorded else CHARS_PER_TOKEN
    block_chars = max(1, round(block_size * chars_per_token))
    ids: dict[bytes, int] = {}
    rows: list[tuple[float, dict[str, Any]]] = []
    for session, texts in zip(sessions, prompts, strict=True):
        for turn, text in zip(session.turns, texts, strict=True):
            at = session.header.arrival_offset_s + (turn.timing.t_start or 0.0)
            hashes = chained_hashes(text, block_chars, partial=True)
            rows.append(
                (
                    at,
                    {
                        "session_id": session.header.session_id,
                        "timestamp": 0,
                        "input_length": turn.input.prompt_tokens or max(1, round(len(text) / chars_per_token)),
                        "output_length": max(1, turn.output.completion_tokens or 1),
                        "hash_ids": [ids.setdefault(h, len(ids)) for h in hashes],
                    },
                )
            )
    rows.sort(key=lambda row: row[0])  # stable: one session's turns keep their order
    start = rows[0][0] if rows else 0.0
    for at, row in rows:
        row["timestamp"] = round((at - start) * 1000)
    return [row for _, row in rows]


def _prompt_text(session: Session, index: int) -> str:
    body = {"model": "export", "messages": history_at(session, index)}
    if session.header.tools:
        body["tools"] = session.header.tools
    return "".join(prompt_texts(decode_request(ChatBody.model_validate(body), {})))
