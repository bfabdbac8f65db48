"""Responses wire -> ChatRequest.

Input items become canonical messages; adjacent items of the same role are merged (a reasoning
item, a message and two function calls from one assistant turn make one assistant message).
Unknown item types are tolerated and dropped, as real clients expect.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import orjson

from splitlane.api.images import image_from_url
from splitlane.api.responses.schema import ResponsesBody
from splitlane.core import opaque
from splitlane.core.errors import InvalidRequest
from splitlane.core.parts import ImagePart, Message, Part, ReasoningPart, Role, TextPart, ToolCallPart, ToolResultPart
from splitlane.core.request import (
    ChatRequest,
    ReasoningOptions,
    Sampling,
    ServerTool,
    ToolChoice,
    ToolChoiceMode,
    ToolSpec,
)

PROVIDER = "openai_responses"
_ROLES = {"user": Role.USER, "system": Role.SYSTEM, "developer": Role.DEVELOPER, "assistant": Role.ASSISTANT}
# Freeform (custom) tools become function tools taking one string; calls map back on the way out.
CUSTOM_INPUT_SCHEMA = {"type": "object", "properties": {"input": {"type": "string"}}, "required": ["input"]}


SURFACE = "responses"
NAMESPACE_SEPARATOR = "__"


def decode_request(
    body: ResponsesBody, items: list[dict[str, Any]], headers: dict[str, str], wire: dict[str, Any] | None = None
) -> ChatRequest:
    """``items``: the whole conversation (a stored one before ``body.input`` when the client gave a
    ``previous_response_id``); ``wire``: the client's body, with that conversation as its input."""
    messages: list[Message] = []
    if body.instructions:
        messages.append(Message(Role.SYSTEM, (TextPart(body.instructions),)))
    messages += _merge([_item(item, i) for i, item in enumerate(items)])
    tools, custom, server_tools, namespaced = _tools(body.tools or [])
    effort = (body.reasoning or {}).get("effort")
    extensions = dict(body.model_extra or {})
    extensions["custom_tools"] = custom
    extensions["namespaced_tools"] = namespaced
    return ChatRequest(
        model=body.model,
        messages=tuple(messages),
        tools=tools,
        server_tools=server_tools,
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
        surface=SURFACE,
        headers=headers,
        wire=wire,
    )


def input_items(body: ResponsesBody) -> list[dict[str, Any]]:
    return items_of(body.input)


def items_of(value: Any) -> list[Any]:
    """A Responses ``input`` as items (a string is one user message; anything else no item)."""
    if isinstance(value, str):
        return [{"type": "message", "role": "user", "content": value}]
    return list(value) if isinstance(value, list) else []


def flat_name(namespace: str, name: str) -> str:
    """A namespaced tool's name on an API without namespaces (function names allow ``_`` only)."""
    return f"{namespace}{NAMESPACE_SEPARATOR}{name}"


def _tools(
    tools: list[dict[str, Any]],
) -> tuple[tuple[ToolSpec, ...], tuple[str, ...], tuple[ServerTool, ...], dict[str, tuple[str, str]]]:
    specs: list[ToolSpec] = []
    custom: list[str] = []
    server: list[ServerTool] = []
    namespaced: dict[str, tuple[str, str]] = {}
    for i, tool in enumerate(tools):
        kind = tool.get("type")
        if kind == "namespace" and isinstance(tool.get("name"), str) and isinstance(tool.get("tools"), list):
            # function and custom tools under one name (Codex's multi_agent_v1): flattened to
            # namespace__name for the canonical model; calls get their namespace back on the way out
            for j, inner in enumerate(tool["tools"]):
                where = f"tools.{i}.tools.{j}"
                if not isinstance(inner, dict) or inner.get("type") not in ("function", "custom"):
                    server.append(ServerTool(SURFACE, str(kind), tool, f"tools.{i}"))
                    break
                spec = _tool(inner, where)
                flat = flat_name(tool["name"], spec.name)
                namespaced[flat] = (tool["name"], spec.name)
                specs.append(replace(spec, name=flat))
                if inner["type"] == "custom":
                    custom.append(flat)
            continue
        if kind not in ("function", "custom"):  # hosted tools: web_search, local_shell, file_search, mcp, ...
            server.append(ServerTool(SURFACE, str(kind), tool, f"tools.{i}"))
            continue
        specs.append(_tool(tool, f"tools.{i}"))
        if kind == "custom":
            custom.append(specs[-1].name)
    return tuple(specs), tuple(custom), tuple(server), namespaced


def _tool(tool: dict[str, Any], where: str) -> ToolSpec:
    kind, name = tool.get("type"), tool.get("name")
    if not (isinstance(name, str) and name):
        raise InvalidRequest(f"{where}.name: required for a {kind} tool", param=f"{where}.name")
    if kind == "custom":
        return ToolSpec(name, tool.get("description") or "", CUSTOM_INPUT_SCHEMA)
    parameters = tool.get("parameters") or {"type": "object", "properties": {}}
    if not isinstance(parameters, dict):
        raise InvalidRequest(f"{where}.parameters: must be a JSON Schema object", param=f"{where}.parameters")
    return ToolSpec(name, tool.get("description") or "", parameters, tool.get("strict"))


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
            name = str(item.get("name", ""))
            if isinstance(item.get("namespace"), str):
                name = flat_name(item["namespace"], name)
            return Message(Role.ASSISTANT, (ToolCallPart(item["call_id"], name, arguments),))
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
