"""Claude Code session logs (``~/.claude/projects/<dir>/<session>.jsonl``) -> agentsession/v1.

Each assistant ``message.id`` is one model call; Claude Code writes one line per content block of
a streamed reply, so lines sharing an id are merged. ``user`` lines between two calls (the prompt,
tool results) become the next call's delta. ``isSidechain`` lines (sub-agents) become a session of
their own. Prompt tokens are ``input + cache_read + cache_creation``, cached tokens
``cache_read_input_tokens``. The gap after a call runs to the next line that is not the
assistant's (a tool result: tool time; a typed prompt: human time). The log holds neither the system
prompt nor the tool schemas: their size goes to ``system_tokens`` and the tools used are declared
with open schemas so replayed histories stay valid.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from splitlane.bench.content import estimated_tokens
from splitlane.bench.trace import (
    FileHeader,
    Session,
    SessionLine,
    Source,
    TurnInput,
    TurnLine,
    TurnOutput,
    TurnTiming,
    open_tool,
)

STOP_REASONS = {"tool_use": "tool_calls", "end_turn": "end_turn", "max_tokens": "length", "stop_sequence": "stop"}


def _ts(value: str | None) -> float | None:
    return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp() if value else None


@dataclass
class _Call:
    id: str
    model: str
    parts: list[dict[str, Any]] = field(default_factory=list)
    usage: dict[str, Any] = field(default_factory=dict)
    stop_reason: str | None = None
    first_ts: float | None = None
    last_ts: float | None = None


@dataclass
class _Thread:
    """One conversation (main or a sidechain) being cut into calls."""

    calls: list[_Call] = field(default_factory=list)
    deltas: list[list[dict[str, Any]]] = field(default_factory=lambda: [[]])
    replace: list[bool] = field(default_factory=lambda: [False])
    gaps_end: list[float | None] = field(default_factory=list)  # first non-assistant line after each call
    human: list[bool] = field(default_factory=list)


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(str(b.get("text", "")) for b in content if isinstance(b, dict) and b.get("type") == "text")
    return ""


def _user_messages(content: Any) -> tuple[list[dict[str, Any]], bool]:
    """Chat-format messages for a user line, and whether it is a tool result (not typed by a person)."""
    if isinstance(content, str):
        return [{"role": "user", "content": content}], False
    messages: list[dict[str, Any]] = []
    texts = []
    tool = False
    for block in content or []:
        if block.get("type") == "tool_result":
            tool = True
            messages.append(
                {"role": "tool", "tool_call_id": block.get("tool_use_id", ""), "content": _text(block.get("content"))}
            )
        elif block.get("type") == "text":
            texts.append(block.get("text", ""))
    if texts:
        messages.append({"role": "user", "content": "\n".join(texts)})
    return messages, tool


def _assistant_message(call: _Call) -> dict[str, Any]:
    text = "".join(p.get("text", "") for p in call.parts if p.get("type") == "text")
    message: dict[str, Any] = {"role": "assistant", "content": text}
    uses = [p for p in call.parts if p.get("type") == "tool_use"]
    if uses:
        message["tool_calls"] = [
            {
                "id": u["id"],
                "type": "function",
                "function": {"name": u["name"], "arguments": json.dumps(u.get("input", {}))},
            }
            for u in uses
        ]
    return message


def _feed(thread: _Thread, row: dict[str, Any]) -> None:
    message = row.get("message") or {}
    stamp = _ts(row.get("timestamp"))
    if row.get("type") == "assistant":
        call_id = message.get("id") or row.get("requestId") or row.get("uuid", "")
        if not thread.calls or thread.calls[-1].id != call_id or len(thread.gaps_end) == len(thread.calls):
            thread.calls.append(_Call(call_id, message.get("model", ""), first_ts=stamp))
            thread.deltas.append([])
            thread.replace.append(False)
        call = thread.calls[-1]
        call.parts += [p for p in message.get("content") or [] if isinstance(p, dict)]
        call.usage = message.get("usage") or call.usage
        call.stop_reason = message.get("stop_reason") or call.stop_reason
        call.last_ts = stamp
        return
    if row.get("type") != "user":
        return
    messages, tool = _user_messages(message.get("content"))
    if not messages:
        return
    if len(thread.gaps_end) < len(thread.calls):  # the first line after a call ends its gap
        thread.gaps_end.append(stamp)
        thread.human.append(not tool)
    if row.get("isCompactSummary"):
        thread.deltas[-1] = []
        thread.replace[-1] = True
    thread.deltas[-1] += messages


def convert(path: Path) -> tuple[FileHeader, list[Session]]:
    threads: dict[str, _Thread] = {}
    session_id = path.stem
    for raw in path.read_text(encoding="utf-8").splitlines():
        if not raw.strip():
            continue
        row = json.loads(raw)
        if row.get("type") not in ("user", "assistant"):
            continue
        session_id = row.get("sessionId", session_id)
        key = f"claude-code:{session_id}" + (
            f":agent-{row.get('agentId', 'sidechain')}" if row.get("isSidechain") else ""
        )
        _feed(threads.setdefault(key, _Thread()), row)
    sessions = [_session(key, thread, path) for key, thread in threads.items() if thread.calls]
    main = next((s.header.session_id for s in sessions if ":agent-" not in s.header.session_id), None)
    for session in sessions:
        if main and session.header.session_id != main:
            session.header.parent = {"session_id": main, "spawn_turn_index": None, "join": "blocking"}
    header = FileHeader(
        created_by="splitlane bench convert claude-code",
        token_count_unit="recorded_model_tokens",
        notes=f"converted from {path.name} (Claude Code session log)",
    )
    return header, sessions


def _session(key: str, thread: _Thread, path: Path) -> Session:
    turns = []
    start = thread.calls[0].first_ts or 0.0
    tools: dict[str, dict[str, Any]] = {}
    for i, call in enumerate(thread.calls):
        usage = call.usage
        cached = int(usage.get("cache_read_input_tokens") or 0)
        prompt = int(usage.get("input_tokens") or 0) + cached + int(usage.get("cache_creation_input_tokens") or 0)
        end = thread.gaps_end[i] if i < len(thread.gaps_end) and i + 1 < len(thread.calls) else None
        gap = max(0.0, end - call.last_ts) if end is not None and call.last_ts is not None else None
        for part in call.parts:
            if part.get("type") == "tool_use":
                tools.setdefault(part["name"], open_tool(part["name"]))
        output = max(1, int(usage.get("output_tokens") or 1))
        turns.append(
            TurnLine(
                session_id=key,
                turn_index=i,
                input=TurnInput(
                    delta_messages=thread.deltas[i],
                    replace_history=thread.replace[i],
                    prompt_tokens=prompt or None,
                    cached_tokens_recorded=cached,
                ),
                output=TurnOutput(
                    message=_assistant_message(call),
                    completion_tokens=output,
                    stop_reason=STOP_REASONS.get(call.stop_reason or "", "stop"),
                    max_tokens=output,
                ),
                timing=TurnTiming(
                    t_start=(call.first_ts - start) if call.first_ts is not None else None,
                    gap_after=gap,
                    gap_kind=("human" if thread.human[i] else "tool") if gap is not None else None,
                ),
            )
        )
    first_prompt = turns[0].input.prompt_tokens or 0
    return Session(
        header=SessionLine(
            session_id=key,
            source=Source(kind="claude-code-jsonl", uri=path.name, model_recorded=thread.calls[0].model or None),
            tools=list(tools.values()) or None,
            system_tokens=max(0, first_prompt - estimated_tokens(thread.deltas[0])) or None,
        ),
        turns=turns,
    )
