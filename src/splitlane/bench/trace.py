"""The ``agentsession/v1`` trace format (docs/bench.md, "Traces"): JSONL, optionally gzipped.

A file header line, then per session one ``session`` line followed by its ``turn`` lines. Turns
carry per-turn deltas, so a file grows linearly with the session. Pydantic here: traces are
input from outside.
"""

from __future__ import annotations

import gzip
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, Any, Literal

import orjson
from pydantic import BaseModel, ConfigDict, Field, ValidationError

SCHEMA = "agentsession/v1"


class _Line(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)


def open_tool(name: str) -> dict[str, Any]:
    """A tool a log shows in use but does not describe: declared with an open schema, so that a
    replayed history that calls it stays valid."""
    return {"type": "function", "function": {"name": name, "parameters": {"type": "object"}}}


class FileHeader(_Line):
    type: Literal["file"] = "file"
    schema_: str = Field(default=SCHEMA, alias="schema")
    created_by: str = ""
    token_count_unit: str = "recorded_model_tokens"
    notes: str = ""


class Source(_Line):
    kind: str
    uri: str = ""
    license: str = ""
    model_recorded: str | None = None
    tokenizer_recorded: str | None = None


class SessionLine(_Line):
    type: Literal["session"] = "session"
    session_id: str
    source: Source
    content_mode: Literal["messages", "synthetic"] = "messages"
    tools: list[dict[str, Any]] | None = None
    tools_tokens: int | None = None
    system_tokens: int | None = None
    initial_messages: list[dict[str, Any]] = Field(default_factory=list)
    parent: dict[str, Any] | None = None
    arrival_offset_s: float = 0.0
    block_size: int | None = None
    tags: dict[str, str] = Field(default_factory=dict)


class TurnInput(_Line):
    delta_messages: list[dict[str, Any]] = Field(default_factory=list)
    replace_history: bool = False
    prompt_tokens: int | None = None
    prompt_tokens_source: str = "usage"
    new_tokens: int | None = None
    cached_tokens_recorded: int | None = None
    hash_ids: list[int] | None = None
    # synthetic content: the client's mode in this turn ("plan" | "act"); the replayed user message
    # carries the client's own marker for it (Claude Code's plan-mode reminders, docs/bench.md)
    mode: str | None = None


class TurnOutput(_Line):
    message: dict[str, Any] | None = None
    completion_tokens: int
    reasoning_tokens: int = 0
    stop_reason: str = "stop"
    max_tokens: int | None = None
    ignore_eos_ok: bool = True


class TurnTiming(_Line):
    t_start: float | None = None
    api_time: float | None = None
    ttft: float | None = None
    gap_after: float | None = None
    gap_kind: str | None = None
    tools: list[dict[str, Any]] = Field(default_factory=list)


class TurnLine(_Line):
    type: Literal["turn"] = "turn"
    session_id: str
    turn_index: int
    input: TurnInput
    output: TurnOutput
    timing: TurnTiming = Field(default_factory=TurnTiming)
    spawns: list[str] = Field(default_factory=list)


class Session(BaseModel):
    header: SessionLine
    turns: list[TurnLine]


class TraceError(ValueError):
    """A trace file that does not follow the format; the message names the line."""


def _open(path: Path, mode: str) -> IO[bytes]:
    return gzip.open(path, mode + "b") if path.suffix == ".gz" else path.open(mode + "b")  # type: ignore[return-value]


def read_trace(path: Path) -> tuple[FileHeader, list[Session]]:
    sessions: dict[str, Session] = {}
    header: FileHeader | None = None
    with _open(path, "r") as handle:
        for number, raw in enumerate(handle, 1):
            if not raw.strip():
                continue
            try:
                data = orjson.loads(raw)
                kind = data.get("type")
                if kind == "file":
                    header = FileHeader.model_validate(data)
                elif kind == "session":
                    line = SessionLine.model_validate(data)
                    sessions[line.session_id] = Session(header=line, turns=[])
                elif kind == "turn":
                    turn = TurnLine.model_validate(data)
                    if turn.session_id not in sessions:
                        raise TraceError(f"{path}:{number}: turn for unknown session {turn.session_id!r}")
                    sessions[turn.session_id].turns.append(turn)
                else:
                    raise TraceError(f"{path}:{number}: unknown line type {kind!r}")
            except (orjson.JSONDecodeError, ValidationError, AttributeError) as exc:
                raise TraceError(f"{path}:{number}: {exc}") from exc
    if header is None or header.schema_ != SCHEMA:
        raise TraceError(f"{path}: the first line must be a file header with schema {SCHEMA!r}")
    for session in sessions.values():
        session.turns.sort(key=lambda t: t.turn_index)
    return header, list(sessions.values())


def write_trace(path: Path, header: FileHeader, sessions: Iterable[Session]) -> None:
    with _open(path, "w") as handle:
        for line in _lines(header, sessions):
            handle.write(orjson.dumps(line.model_dump(by_alias=True, exclude_none=True)) + b"\n")


def _lines(header: FileHeader, sessions: Iterable[Session]) -> Iterator[_Line]:
    yield header
    for session in sessions:
        yield session.header
        yield from session.turns


def history_at(session: Session, index: int, outputs: list[dict[str, Any]] | None = None) -> list[dict[str, Any]]:
    """The prompt of the turn at position ``index`` (replay rule 1): initial messages, then every
    earlier turn's delta and assistant output (``outputs`` replaces the recorded ones, for live
    replay), then this turn's delta. ``replace_history`` starts over (compaction)."""
    history = list(session.header.initial_messages)
    for i, turn in enumerate(session.turns[: index + 1]):
        if turn.input.replace_history:
            history = []
        history += turn.input.delta_messages
        if i < index:
            recorded = turn.output.message or {"role": "assistant", "content": ""}
            history.append(outputs[i] if outputs is not None and i < len(outputs) else recorded)
    return history
