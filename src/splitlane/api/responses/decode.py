"""Responses wire -> ChatRequest.

Input items become canonical messages; adjacent items of the same role are merged (a reasoning
item, a message and two function calls from one assistant turn make one assistant message).
Unknown item types are tolerated and dropped, as real clients expect.
"""

from __future__ import annotations

from typing import Any

import orjson

from splitlane.api.images import image_from_url
from splitlane.api.responses.schema import ResponsesBody
from splitlane.core import opaque
from splitlane.core.errors import InvalidRequest
from splitlane.core.parts import ImagePart, Message, Part, ReasoningPart, Role, TextPart, ToolCallPart, ToolResultPart
from splitlane.core.request import ChatRequest, ReasoningOptions, Sampling, ToolChoice, ToolChoiceMode, ToolSpec

PROVIDER = "openai_responses"
_ROLES = {"user": Role.USER, "system": Role.SYSTEM, "developer": Role.DEVELOPER, "assistant": Role.ASSISTANT}
# Freeform (custom) tools become function tools taking one string; calls map back on the way out.
CUSTOM_INPUT_SCHEMA = {"type": "object", "properties": {"input": {"type": "string"}}, "required": ["input"]}


def decode_request(body: ResponsesBody, items: list[dict[str, Any]], headers: dict[str, str]) -> ChatRequest:
    messages: list[Message] = []
    if body.instructions:
        messages.append(Message(Role.SYSTEM, (TextPart(body.instructions),)))
    messages += _merge([_item(item, i) for i, item in enumerate(items)])
    tools, custom = _tools(body.tools or [])
    effort = (body.reasoning or {}).get("effort")
    extensions = dict(body.model_extra or {})
    extensions["custom_tools"] = custom
    return ChatRequest(
        model=body.model,
        messages=tuple(messages),
        tools=tools,
        tool_choice=_tool_choice(body),
        sampling=Sampling(body.temperature, body.top_p),
        max_output_tokens=body.max_output_tokens,
        reasoning=ReasoningOptions(
            enabled=None if effort is None else effort != "none",
            effort=effort,
            summary=(body.reasoning or {}).get("summary"),
        ),
        stream=body.stream,
        metadata=body.metadata or {},
        extensions=extensions,
        surface="responses",
        headers=headers,
    )


def input_items(body: ResponsesBody) -> list[dict[str, Any]]:
    if isinstance(body.input, str):
        return [{"type": "message", "role": "user", "content": body.input}]
    return list(body.input)


def _tools(tools: list[dict[str, Any]]) -> tuple[tuple[ToolSpec, ...], tuple[str, ...]]:
    specs: list[ToolSpec] = []
    custom: list[str] = []
    for i, tool in enumerate(tools):
        kind = tool.get("type")
        name = tool.get("name")
        if kind not in ("function", "custom"):
            continue  # hosted tools (web_search, local_shell, file_search, mcp, ...) cannot run here: dropped
        if not (isinstance(name, str) and name):
            raise InvalidRequest(f"tools.{i}.name: required for a {kind} tool", param=f"tools.{i}.name")
        if kind == "function":
            parameters = tool.get("parameters") or {"type": "object", "properties": {}}
            if not isinstance(parameters, dict):
                raise InvalidRequest(
                    f"tools.{i}.parameters: must be a JSON Schema object", param=f"tools.{i}.parameters"
                )
            specs.append(ToolSpec(name, tool.get("description") or "", parameters, tool.get("strict")))
        else:
            specs.append(ToolSpec(name, tool.get("description") or "", CUSTOM_INPUT_SCHEMA))
            custom.append(name)
    return tuple(specs), tuple(custom)


def _tool_choice(body: ResponsesBody) -> ToolChoice:
    choice = body.tool_choice
    if isinstance(choice, dict):
        if choice.get("type") in ("function", "custom") and isinstance(choice.get("name"), str):
            return ToolChoice(ToolChoiceMode.TOOL, choice["name"], body.parallel_tool_calls)
        return ToolChoice(ToolChoiceMode.AUTO, None, body.parallel_tool_calls)
    if choice not in (None, "auto", "none", "required"):
        raise InvalidRequest("tool_choice must be auto, none, required or a function choice", param="tool_choice")
    return ToolChoice(ToolChoiceMode(choice or "auto"), None, body.parallel_tool_calls)


def _content(content: Any, where: str) -> tuple[TextPart | ImagePart, ...]:
    if isinstance(content, str):
        return (TextPart(content),)
    if not isinstance(content, list):
        raise InvalidRequest(f"{where}: must be a string or a list of content parts", param=where)
    parts: list[TextPart | ImagePart] = []
    for i, part in enumerate(content):
        kind = part.get("type") if isinstance(part, dict) else None
        if kind in ("input_text", "output_text", "text", "summary_text", "refusal"):
            parts.append(TextPart(str(part.get("text") or part.get("refusal") or "")))
        elif kind == "input_image" and isinstance(part.get("image_url"), str):
            parts.append(image_from_url(part["image_url"]))
        else:
            raise InvalidRequest(f"{where}.{i}: unsupported content part type {kind!r}", param=f"{where}.{i}.type")
    return tuple(parts)


def _item(item: Any, index: int) -> Message | None:
    where = f"input.{index}"
    if not isinstance(item, dict):
        raise InvalidRequest(f"{where}: each input item must be an object", param=where)
    kind = item.get("type", "message")
    match kind:
        case "message":
            role = _ROLES.get(item.get("role", ""))
            if role is None:
                raise InvalidRequest(
                    f"{where}.role: must be user, system, developer or assistant", param=f"{where}.role"
                )
            return Message(role, _content(item.get("content", ""), f"{where}.content"))
        case "function_call" | "custom_tool_call":
            arguments = (
                item.get("arguments")
                if kind == "function_call"
                else orjson.dumps({"input": item.get("input", "")}).decode()
            )
            if not isinstance(item.get("call_id"), str) or not isinstance(arguments, str):
                raise InvalidRequest(f"{where}: a {kind} needs call_id and arguments strings", param=where)
            return Message(Role.ASSISTANT, (ToolCallPart(item["call_id"], str(item.get("name", "")), arguments),))
        case "function_call_output" | "custom_tool_call_output":
            if not isinstance(item.get("call_id"), str):
                raise InvalidRequest(f"{where}.call_id: required", param=f"{where}.call_id")
            output = item.get("output", "")
            return Message(Role.TOOL, (ToolResultPart(item["call_id"], _content(output, f"{where}.output")),))
        case "reasoning":
            return Message(Role.ASSISTANT, (_reasoning(item),))
    return None  # unknown item types are tolerated


def _reasoning(item: dict[str, Any]) -> ReasoningPart:
    summary = "\n\n".join(str(s.get("text", "")) for s in item.get("summary") or [] if isinstance(s, dict))
    encrypted = item.get("encrypted_content")
    data = opaque.unpack(encrypted) if isinstance(encrypted, str) else None
    if data is None and isinstance(encrypted, str):
        data = {PROVIDER: {"id": item.get("id", ""), "encrypted_content": encrypted}}
    return ReasoningPart(summary, provider_data=data or {})


def _merge(messages: list[Message | None]) -> list[Message]:
    merged: list[Message] = []
    for message in messages:
        if message is None:
            continue
        if merged and merged[-1].role is message.role and message.role in (Role.ASSISTANT, Role.TOOL):
            parts: tuple[Part, ...] = merged[-1].parts + message.parts
            merged[-1] = Message(message.role, parts)
        else:
            merged.append(message)
    return merged
