"""SWE-agent ``.traj`` -> agentsession/v1 (content replay).

The ``history`` is split at each assistant message: what precedes the first one (system prompt,
demonstrations, the issue) becomes ``initial_messages``; each assistant message is a turn's output,
and the messages between two assistant messages are the next turn's delta. Token counts are not
recorded per call, so each prompt and output is estimated at four characters a token and then
scaled so the totals equal ``info.model_stats`` (tokens_sent / tokens_received) when it has them.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from splitlane.bench.trace import FileHeader, Session, SessionLine, Source, TurnInput, TurnLine, TurnOutput, TurnTiming

CHARS_PER_TOKEN = 4


def _message(raw: dict[str, Any]) -> dict[str, Any]:
    content = raw.get("content", "")
    if isinstance(content, list):
        content = "".join(p.get("text", "") for p in content if isinstance(p, dict))
    message: dict[str, Any] = {"role": raw["role"], "content": content}
    if raw.get("tool_calls"):
        message["tool_calls"] = [
            {"id": c["id"], "type": "function", "function": c["function"]} for c in raw["tool_calls"]
        ]
    call_ids = raw.get("tool_call_ids") or ([raw["tool_call_id"]] if raw.get("tool_call_id") else [])
    if raw["role"] == "tool" and call_ids:
        message["tool_call_id"] = call_ids[0]
    return message


def _chars(messages: list[dict[str, Any]]) -> int:
    return sum(len(m.get("content") or "") + len(json.dumps(m.get("tool_calls") or "")) for m in messages)


def _scale(estimates: list[int], total: int | None) -> tuple[list[int], str]:
    raw = sum(estimates)
    if not total or not raw:
        return estimates, "estimate_chars4"
    return [max(1, round(e * total / raw)) for e in estimates], "estimate_chars4_scaled_to_model_stats"


def convert(path: Path) -> tuple[FileHeader, list[Session]]:
    data = json.loads(path.read_text(encoding="utf-8"))
    history = [_message(m) for m in data["history"]]
    first = next(i for i, m in enumerate(history) if m["role"] == "assistant")
    initial, rest = history[:first], history[first:]
    turns_raw: list[tuple[list[dict[str, Any]], dict[str, Any]]] = []
    delta: list[dict[str, Any]] = []
    for message in rest:
        if message["role"] == "assistant":
            turns_raw.append((delta, message))
            delta = []
        else:
            delta.append(message)
    stats = (data.get("info") or {}).get("model_stats") or {}
    prompt_chars, seen = [], _chars(initial)
    for delta_messages, output in turns_raw:
        seen += _chars(delta_messages)
        prompt_chars.append(seen)
        seen += _chars([output])
    prompts, prompt_source = _scale([c // CHARS_PER_TOKEN for c in prompt_chars], stats.get("tokens_sent"))
    outputs, _ = _scale([_chars([o]) // CHARS_PER_TOKEN for _, o in turns_raw], stats.get("tokens_received"))
    steps = data.get("trajectory") or []
    session_id = f"swea:{path.stem}"
    turns = []
    for i, ((delta_messages, output), prompt, completion) in enumerate(zip(turns_raw, prompts, outputs, strict=True)):
        gap = steps[i].get("execution_time") if i < len(steps) else None
        turns.append(
            TurnLine(
                session_id=session_id,
                turn_index=i,
                input=TurnInput(
                    delta_messages=delta_messages,
                    prompt_tokens=prompt,
                    prompt_tokens_source=prompt_source,
                    new_tokens=prompt - (prompts[i - 1] + outputs[i - 1]) if i else prompt,
                ),
                output=TurnOutput(
                    message=output,
                    completion_tokens=completion,
                    max_tokens=completion,
                    stop_reason="tool_calls" if output.get("tool_calls") else "stop",
                ),
                timing=TurnTiming(gap_after=gap, gap_kind="tool" if gap is not None else None),
            )
        )
    model = (data.get("info") or {}).get("model_name") or (
        (data.get("environment") or "") if isinstance(data.get("environment"), str) else None
    )
    header = SessionLine(
        session_id=session_id,
        source=Source(
            kind="swe-agent-traj", uri=str(path.name), license="MIT", model_recorded=model, tokenizer_recorded=None
        ),
        initial_messages=initial,
        tags={"outcome": str((data.get("info") or {}).get("exit_status", ""))},
    )
    file_header = FileHeader(
        created_by="splitlane bench convert swe-agent",
        token_count_unit="estimated_tokens",
        notes=f"converted from {path.name}; prompt tokens: {prompt_source}",
    )
    return file_header, [Session(header=header, turns=turns)]
