"""Anthropic Messages wire -> ChatRequest."""

from __future__ import annotations

from typing import Any

import orjson

from splitlane.api.messages.schema import CountTokensBody, MessageIn, MessagesBody
from splitlane.core import opaque
from splitlane.core.errors import InvalidRequest
from splitlane.core.parts import (
    ImagePart,
    Message,
    Part,
    ProviderData,
    ReasoningPart,
    Role,
    TextPart,
    ToolCallPart,
    ToolResultPart,
)
from splitlane.core.request import ChatRequest, ReasoningOptions, Sampling, ToolChoice, ToolChoiceMode, ToolSpec

PROVIDER = "anthropic"


def decode_request(body: CountTokensBody, headers: dict[str, str]) -> ChatRequest:
    messages: list[Message] = []
    system = _system(body.system)
    if system:
        messages.append(Message(Role.SYSTEM, (TextPart(system),)))
    for i, message in enumerate(body.messages):
        messages += _message(message, f"messages.{i}")
    full = body if isinstance(body, MessagesBody) else None
    extensions = dict(body.model_extra or {})
    if body.thinking is not None:
        extensions["thinking"] = body.thinking
    return ChatRequest(
        model=body.model,
        messages=tuple(messages),
        tools=_tools(body.tools or []),
        tool_choice=_tool_choice(body.tool_choice),
        sampling=Sampling(full.temperature, full.top_p, full.top_k) if full else Sampling(),
        max_output_tokens=full.max_tokens if full else None,
        stop=tuple(full.stop_sequences or ()) if full else (),
        reasoning=_reasoning(body.thinking),
        stream=full.stream if full else False,
        metadata={k: str(v) for k, v in ((full.metadata or {}) if full else {}).items() if v is not None},
        extensions=extensions,
        surface="messages",
        headers=headers,
    )


def _system(system: str | list[dict[str, Any]] | None) -> str:
    if system is None or isinstance(system, str):
        return system or ""
    return "\n\n".join(str(b.get("text", "")) for b in system if b.get("type") == "text")


def _reasoning(thinking: dict[str, Any] | None) -> ReasoningOptions:
    if not thinking:
        return ReasoningOptions()
    kind = thinking.get("type")
    if kind == "disabled":
        return ReasoningOptions(enabled=False)
    budget = thinking.get("budget_tokens")
    return ReasoningOptions(
        enabled=True,
        budget_tokens=budget if isinstance(budget, int) else None,
        effort=None if isinstance(budget, int) else "medium",
    )


def _tools(tools: list[dict[str, Any]]) -> tuple[ToolSpec, ...]:
    specs: list[ToolSpec] = []
    for i, tool in enumerate(tools):
        if tool.get("type") not in (None, "custom"):
            continue  # server tools (web_search, bash_20250124, ...) cannot run here
        name = tool.get("name")
        schema = tool.get("input_schema")
        if not isinstance(name, str) or not name:
            raise InvalidRequest(f"tools.{i}.name: required", param=f"tools.{i}.name")
        if not isinstance(schema, dict):
            raise InvalidRequest(
                f"tools.{i}.input_schema: must be a JSON Schema object", param=f"tools.{i}.input_schema"
            )
        specs.append(ToolSpec(name, str(tool.get("description") or ""), schema, tool.get("strict")))
    return tuple(specs)


def _tool_choice(choice: dict[str, Any] | None) -> ToolChoice:
    if not choice:
        return ToolChoice()
    parallel = False if choice.get("disable_parallel_tool_use") else None
    match choice.get("type"):
        case "auto":
            return ToolChoice(ToolChoiceMode.AUTO, None, parallel)
        case "any":
            return ToolChoice(ToolChoiceMode.REQUIRED, None, parallel)
        case "none":
            return ToolChoice(ToolChoiceMode.NONE)
        case "tool" if isinstance(choice.get("name"), str):
            return ToolChoice(ToolChoiceMode.TOOL, choice["name"], parallel)
    raise InvalidRequest("tool_choice.type must be auto, any, tool (with name) or none", param="tool_choice.type")


def _image(block: dict[str, Any], where: str) -> ImagePart:
    source = block.get("source") or {}
    if source.get("type") == "base64":
        return ImagePart(media_type=source.get("media_type"), data=source.get("data"))
    if source.get("type") == "url":
        return ImagePart(url=source.get("url"))
    raise InvalidRequest(f"{where}.source.type: must be base64 or url", param=f"{where}.source.type")


def _signature_data(signature: str) -> ProviderData:
    return opaque.unpack(signature) or ({PROVIDER: {"signature": signature}} if signature else {})


def _block(block: dict[str, Any], where: str) -> Part:
    match block.get("type"):
        case "text":
            return TextPart(str(block.get("text", "")))
        case "image":
            return _image(block, where)
        case "thinking":
            return ReasoningPart(str(block.get("thinking", "")), _signature_data(str(block.get("signature", ""))))
        case "redacted_thinking":
            return ReasoningPart("", {PROVIDER: {"redacted": str(block.get("data", ""))}})
        case "tool_use":
            if not isinstance(block.get("id"), str) or not isinstance(block.get("name"), str):
                raise InvalidRequest(f"{where}: tool_use needs id and name", param=where)
            return ToolCallPart(block["id"], block["name"], orjson.dumps(block.get("input") or {}).decode())
        case "tool_result":
            if not isinstance(block.get("tool_use_id"), str):
                raise InvalidRequest(f"{where}.tool_use_id: required", param=f"{where}.tool_use_id")
            content = block.get("content", "")
            parts = (
                (TextPart(content),)
                if isinstance(content, str)
                else tuple(
                    p
                    for p in (_block(b, f"{where}.content.{j}") for j, b in enumerate(content))
                    if isinstance(p, TextPart | ImagePart)
                )
            )
            return ToolResultPart(block["tool_use_id"], parts, bool(block.get("is_error")))
    raise InvalidRequest(f"{where}.type: unsupported content block type {block.get('type')!r}", param=f"{where}.type")


def _message(message: MessageIn, where: str) -> list[Message]:
    if isinstance(message.content, str):
        parts: list[Part] = [TextPart(message.content)]
    else:
        parts = [
            _block(b, f"{where}.content.{j}")
            for j, b in enumerate(message.content)
            if b.get("type") not in ("server_tool_use", "web_search_tool_result")
        ]
    if message.role == "assistant":
        return [Message(Role.ASSISTANT, tuple(parts))]
    results = tuple(p for p in parts if isinstance(p, ToolResultPart))
    rest = tuple(p for p in parts if not isinstance(p, ToolResultPart))
    out = [Message(Role.TOOL, results)] if results else []
    return out + ([Message(Role.USER, rest)] if rest or not results else [])
