"""Tool use for the embedded model: instructions in the prompt, calls parsed out of its text.

The model is told to answer a call as ``<tool_call>{"name": ..., "arguments": {...}}</tool_call>``
(a JSON list of such objects inside the tags, as SmolLM2 was trained to write, is read too).
When the request forces a call (tool_choice required or named), a JSON-schema grammar makes the
whole output one such JSON object, so even a small model produces a valid call.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from splitlane.core.request import ChatRequest, ToolChoiceMode, ToolSpec

OPEN, CLOSE = "<tool_call>", "</tool_call>"


def instructions(tools: tuple[ToolSpec, ...]) -> str:
    listed = "\n".join(
        orjson.dumps({"name": t.name, "description": t.description, "parameters": dict(t.parameters)}).decode()
        for t in tools
    )
    return (
        "You can call these tools:\n" + listed + "\n\nTo call a tool, reply with exactly "
        f'{OPEN}{{"name": "<tool name>", "arguments": {{...}}}}{CLOSE} and nothing after it.'
    )


def forced_schema(request: ChatRequest) -> str | None:
    """The JSON schema a forced tool call must match, or None when no call is forced."""
    choice = request.tool_choice
    if choice.mode is ToolChoiceMode.TOOL:
        tools = [t for t in request.tools if t.name == choice.name]
    elif choice.mode is ToolChoiceMode.REQUIRED:
        tools = list(request.tools)
    else:
        return None
    options = [
        {
            "type": "object",
            "properties": {"name": {"const": t.name}, "arguments": _arguments_schema(t)},
            "required": ["name", "arguments"],
        }
        for t in tools
    ]
    schema: dict[str, Any] = options[0] if len(options) == 1 else {"anyOf": options}
    return orjson.dumps(schema).decode() if options else None


def _arguments_schema(tool: ToolSpec) -> dict[str, Any]:
    schema = dict(tool.parameters)
    return schema if schema.get("type") == "object" else {"type": "object"}


@dataclass(frozen=True, slots=True)
class ParsedCall:
    name: str
    arguments: str


Piece = str | ParsedCall


def parse_calls(text: str) -> list[ParsedCall]:
    """The calls in one ``<tool_call>`` body: one object, or a list of them (SmolLM2's own format,
    as its function-calling data writes it); none when it is not JSON of that shape."""
    try:
        value = orjson.loads(text.strip())
    except orjson.JSONDecodeError:
        return []
    items = value if isinstance(value, list) else [value]
    if not items or not all(isinstance(v, dict) and isinstance(v.get("name"), str) for v in items):
        return []
    return [_call(v) for v in items]


def _call(value: dict[str, Any]) -> ParsedCall:
    arguments = value.get("arguments", value.get("parameters", {}))
    return ParsedCall(value["name"], orjson.dumps(arguments if isinstance(arguments, dict) else {}).decode())


class ToolCallParser:
    """Splits streamed model text into plain text and parsed tool calls."""

    def __init__(self, enabled: bool, forced: bool) -> None:
        self.enabled = enabled
        self.forced = forced
        self._buffer = ""
        self._inside = False

    def feed(self, text: str) -> list[Piece]:
        if not self.enabled:
            return [text] if text else []
        self._buffer += text
        if self.forced:
            return []
        out: list[Piece] = []
        while True:
            marker = CLOSE if self._inside else OPEN
            at = self._buffer.find(marker)
            if at < 0:
                break
            before, self._buffer = self._buffer[:at], self._buffer[at + len(marker) :]
            if self._inside:
                calls = parse_calls(before)
                out += calls if calls else [f"{OPEN}{before}{CLOSE}"]
            elif before:
                out.append(before)
            self._inside = not self._inside
        if not self._inside:
            keep = next(
                (n for n in range(min(len(OPEN) - 1, len(self._buffer)), 0, -1) if self._buffer.endswith(OPEN[:n])), 0
            )
            safe, self._buffer = self._buffer[: len(self._buffer) - keep], self._buffer[len(self._buffer) - keep :]
            if safe:
                out.append(safe)
        return out

    def finish(self) -> list[Piece]:
        rest, self._buffer = self._buffer, ""
        if self.forced or self._inside:
            calls: list[Piece] = [*parse_calls(rest)]
            if calls:
                return calls
            rest = (OPEN + rest) if self._inside else rest
        return [rest] if rest else []
