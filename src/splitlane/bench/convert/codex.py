"""Codex CLI session logs (``$CODEX_HOME/sessions/YYYY/MM/DD/rollout-*.jsonl``) -> agentsession/v1.

A rollout is one ``{timestamp, type, payload}`` line per event. ``session_meta`` names the session
(id, cwd, CLI version, originator); ``response_item`` lines are the conversation as Codex sent and
received it: the model's output items (assistant ``message``, ``function_call``,
``custom_tool_call``, ``reasoning``) and the inputs between two calls (``user``/``developer``
messages, ``function_call_output``, ``custom_tool_call_output``); ``event_msg`` ``token_count``
carries each call's usage (``info.last_token_usage``); ``compacted`` starts a new history from a
summary; ``turn_context`` says the model.

A model call is a run of output items; the inputs after it are the next call's delta. Prompt tokens
are the usage's ``input_tokens`` (cached included), cached ``cached_input_tokens``. The log has no
request times: a call starts at its last input's timestamp and its ``api_time`` runs to its last
output item; the gap after it runs to the next input (a tool result: tool time; a typed message:
human time). Tools are declared with open schemas, as used; developer messages become system ones.
``session_meta.base_instructions`` (what Codex sends as ``instructions`` on every request) opens the
history as a system message and stays first after a compaction, as it does in Codex's requests; the
tool schemas are not in the log, so the first prompt's recorded tokens beyond its text are the
session's ``tools_tokens``.
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

OUTPUTS = frozenset({"function_call", "custom_tool_call", "reasoning", "local_shell_call", "web_search_call"})
TOOL_RESULTS = frozenset({"function_call_output", "custom_tool_call_output"})


def _ts(value: str | None) -> float | None:
    return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp() if value else None


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(str(b.get("text", "")) for b in content if isinstance(b, dict) and "text" in b)
    return ""


@dataclass
class _Call:
    start: float | None  # the last input's timestamp: when the request went out, near enough
    items: list[dict[str, Any]] = field(default_factory=list)
    end: float | None = None
    usage: dict[str, Any] | None = None


@dataclass
class _Rollout:
    calls: list[_Call] = field(default_factory=list)
    deltas: list[list[dict[str, Any]]] = field(default_factory=lambda: [[]])
    replace: list[bool] = field(default_factory=lambda: [False])
    next_input: list[tuple[float | None, bool]] = field(default_factory=list)  # (when, typed by a person)
    last_input: float | None = None
    in_call: bool = False

    def output(self, item: dict[str, Any], stamp: float | None) -> None:
        if not self.in_call:
            self.calls.append(_Call(self.last_input))
            self.in_call = True
        call = self.calls[-1]
        call.items.append(item)
        call.end = stamp

    def input(self, message: dict[str, Any], stamp: float | None, human: bool) -> None:
        if self.in_call:  # the first input after a call: its gap ends, the next call's delta begins
            self.in_call = False
            self.next_input.append((stamp, human))
            self.deltas.append([])
            self.replace.append(False)
        self.deltas[-1].append(message)
        self.last_input = stamp

    def compacted(self, history: list[dict[str, Any]], stamp: float | None) -> None:
        """The history from here on is ``history`` (the compaction's replacement)."""
        if self.in_call:
            self.in_call = False
            self.next_input.append((stamp, False))
            self.deltas.append([])
            self.replace.append(False)
        self.deltas[-1] = history
        self.replace[-1] = True
        self.last_input = stamp

    def usage(self, last: dict[str, Any]) -> None:
        for call in reversed(self.calls):
            if call.usage is None:
                call.usage = last
                return


def _feed(rollout: _Rollout, kind: str, payload: dict[str, Any], stamp: float | None) -> None:
    if kind == "compacted":
        replacement = payload.get("replacement_history")
        if isinstance(replacement, list) and replacement:
            history = [m for m in (_input_message(i) for i in replacement if isinstance(i, dict)) if m is not None]
        else:
            history = [{"role": "user", "content": str(payload.get("message") or "")}]
        rollout.compacted(history, stamp)
        return
    if kind == "event_msg":
        if payload.get("type") == "token_count":
            last = (payload.get("info") or {}).get("last_token_usage")
            if isinstance(last, dict):
                rollout.usage(last)
        return
    if kind != "response_item":
        return
    item_type = payload.get("type")
    if item_type in OUTPUTS or (item_type == "message" and payload.get("role") == "assistant"):
        rollout.output(payload, stamp)
        return
    message = _input_message(payload)
    if message is not None:
        rollout.input(message, stamp, message["role"] == "user" and item_type == "message")


def _input_message(item: dict[str, Any]) -> dict[str, Any] | None:
    """An input item as a chat message (developer and system messages as system ones)."""
    if item.get("type") == "message" and item.get("role") in ("user", "developer", "system"):
        return {"role": "user" if item["role"] == "user" else "system", "content": _text(item.get("content"))}
    if item.get("type") in TOOL_RESULTS:
        output = item.get("output")
        content = _text(output.get("content")) if isinstance(output, dict) else _text(output)
        return {"role": "tool", "tool_call_id": str(item.get("call_id", "")), "content": content}
    return None


def _message(call: _Call) -> dict[str, Any]:
    text = "".join(_text(i.get("content")) for i in call.items if i.get("type") == "message")
    message: dict[str, Any] = {"role": "assistant", "content": text}
    calls = []
    for item in call.items:
        if item.get("type") == "function_call":
            arguments = str(item.get("arguments") or "{}")
        elif item.get("type") == "custom_tool_call":  # a freeform tool (apply_patch): its text as one argument
            arguments = json.dumps({"input": item.get("input", "")})
        else:
            continue
        function = {"name": str(item.get("name", "")), "arguments": arguments}
        calls.append({"id": str(item.get("call_id", "")), "type": "function", "function": function})
    if calls:
        message["tool_calls"] = calls
    return message


def convert(path: Path) -> tuple[FileHeader, list[Session]]:
    rollout = _Rollout()
    meta: dict[str, Any] = {}
    model: str | None = None
    for raw in path.read_text(encoding="utf-8").splitlines():
        if not raw.strip():
            continue
        row = json.loads(raw)
        payload = row.get("payload") if isinstance(row.get("payload"), dict) else {}
        if row.get("type") == "session_meta":
            meta = payload
        elif row.get("type") == "turn_context":
            model = payload.get("model") or model
        _feed(rollout, str(row.get("type")), payload, _ts(row.get("timestamp")))
    header = FileHeader(
        created_by="splitlane bench convert codex",
        token_count_unit="recorded_model_tokens",
        notes=f"converted from {path.name} (Codex CLI rollout)",
    )
    if not rollout.calls:
        return header, []
    return header, [_session(rollout, meta, model, path)]


def _instructions(meta: dict[str, Any]) -> list[dict[str, Any]]:
    base = meta.get("base_instructions")
    text = base.get("text") if isinstance(base, dict) else base
    return [{"role": "system", "content": text}] if isinstance(text, str) and text else []


def _session(rollout: _Rollout, meta: dict[str, Any], model: str | None, path: Path) -> Session:
    key = f"codex:{meta.get('id') or path.stem}"
    system = _instructions(meta)
    origin = rollout.calls[0].start or rollout.calls[0].end or 0.0
    tools: dict[str, dict[str, Any]] = {}
    turns: list[TurnLine] = []
    for i, call in enumerate(rollout.calls):
        usage = call.usage or {}
        message = _message(call)
        for tool_call in message.get("tool_calls", []):
            name = tool_call["function"]["name"]
            tools.setdefault(name, open_tool(name))
        after = rollout.next_input[i] if i < len(rollout.next_input) and i + 1 < len(rollout.calls) else None
        gap = max(0.0, after[0] - call.end) if after and after[0] is not None and call.end is not None else None
        api = max(0.0, call.end - call.start) if call.end is not None and call.start is not None else None
        output = max(1, int(usage.get("output_tokens") or 1))
        turns.append(
            TurnLine(
                session_id=key,
                turn_index=i,
                input=TurnInput(
                    delta_messages=(system if rollout.replace[i] else []) + rollout.deltas[i],
                    replace_history=rollout.replace[i],
                    prompt_tokens=int(usage["input_tokens"]) if usage.get("input_tokens") else None,
                    cached_tokens_recorded=int(usage.get("cached_input_tokens") or 0),
                ),
                output=TurnOutput(
                    message=message,
                    completion_tokens=output,
                    reasoning_tokens=int(usage.get("reasoning_output_tokens") or 0),
                    stop_reason="tool_calls" if message.get("tool_calls") else "stop",
                    max_tokens=output,
                ),
                timing=TurnTiming(
                    t_start=(call.start - origin) if call.start is not None else None,
                    api_time=api,
                    gap_after=gap,
                    gap_kind=("human" if after and after[1] else "tool") if gap is not None else None,
                ),
            )
        )
    tags = {k: str(meta[k]) for k in ("cli_version", "originator", "cwd") if meta.get(k)}
    first_prompt = turns[0].input.prompt_tokens or 0
    return Session(
        header=SessionLine(
            session_id=key,
            source=Source(kind="codex-rollout", uri=path.name, model_recorded=model),
            tools=list(tools.values()) or None,
            initial_messages=system,
            tools_tokens=max(0, first_prompt - estimated_tokens(system + rollout.deltas[0])) or None,
            tags=tags,
        ),
        turns=turns,
    )
