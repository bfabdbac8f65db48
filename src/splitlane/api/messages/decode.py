"""Anthropic Messages wire -> ChatRequest."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import orjson

from splitlane.api.messages.schema import CountTokensBody, MessageIn, MessagesBody
from splitlane.core import opaque
from splitlane.core.errors import InvalidRequest
from splitlane.core.parts import (
    CacheHint,
    ImagePart,
    Message,
    OpaquePart,
    Part,
    ProviderData,
    ReasoningPart,
    Role,
    TextPart,
    ToolCallPart,
    ToolResultPart,
)
from splitlane.core.request import (
    ChatRequest,
    ReasoningOptions,
    Sampling,
    ServerTool,
    ToolChoice,
    ToolChoiceMode,
    ToolSpec,
)

PROVIDER = "anthropic"
# output_config.effort as the OpenAI APIs name it (they have no "max")
EFFORTS = {"low": "low", "medium": "medium", "high": "high", "max": "high"}
SURFACE = "messages"
MAX_BREAKPOINTS = 4  # Anthropic's limit on cache_control marks in one request
TTLS = ("5m", "1h")
# Fields of a text block the canonical model does not name, kept for Anthropic upstreams.
TEXT_EXTRAS = ("citations",)


class _Marks:
    """The request's cache_control marks, validated and counted as they are read."""

    def __init__(self) -> None:
        self.count = 0

    def read(self, block: dict[str, Any], where: str, counted: bool = True) -> CacheHint | None:
        raw = block.get("cache_control")
        if raw is None:
            return None
        field = f"{where}.cache_control" if where else "cache_control"
        if not isinstance(raw, dict):
            raise InvalidRequest(f'{field}: must be an object such as {{"type": "ephemeral"}}', param=field)
        if raw.get("type") != "ephemeral":
            raise InvalidRequest(f"{field}.type: must be 'ephemeral', got {raw.get('type')!r}", param=f"{field}.type")
        ttl = raw.get("ttl")
        if ttl is not None and ttl not in TTLS:
            raise InvalidRequest(f"{field}.ttl: must be '5m' or '1h', got {ttl!r}", param=f"{field}.ttl")
        if counted:
            self.count += 1
            if self.count > MAX_BREAKPOINTS:
                raise InvalidRequest(
                    f"{field}: a maximum of {MAX_BREAKPOINTS} blocks with cache_control may be provided "
                    f"(found {self.count} so far)",
                    param=field,
                )
        return CacheHint(ttl)


def decode_request(body: CountTokensBody, headers: dict[str, str], wire: dict[str, Any] | None = None) -> ChatRequest:
    marks = _Marks()
    messages: list[Message] = []
    system = _system(body.system, marks)
    if system:
        messages.append(Message(Role.SYSTEM, system))
    tools, server_tools = _tools(body.tools or [], marks)
    for i, message in enumerate(body.messages):
        messages += _message(message, f"messages.{i}", marks)
    full = body if isinstance(body, MessagesBody) else None
    extensions = dict(body.model_extra or {})
    top = extensions.get("cache_control")
    cache = marks.read(extensions, "", counted=False) if top is not None else None
    if body.thinking is not None:
        extensions["thinking"] = body.thinking
    return ChatRequest(
        model=body.model,
        messages=tuple(messages),
        tools=tools,
        server_tools=server_tools,
        tool_choice=_tool_choice(body.tool_choice),
        sampling=Sampling(full.temperature, full.top_p, full.top_k) if full else Sampling(),
        max_output_tokens=full.max_tokens if full else None,
        stop=tuple(full.stop_sequences or ()) if full else (),
        reasoning=_reasoning(body.thinking, extensions.get("output_config")),
        stream=full.stream if full else False,
        metadata={k: str(v) for k, v in ((full.metadata or {}) if full else {}).items() if v is not None},
        extensions=extensions,
        surface=SURFACE,
        headers=headers,
        wire=wire,
        cache=cache,
    )


def _system(system: str | list[dict[str, Any]] | None, marks: _Marks) -> tuple[Part, ...]:
    if system is None or isinstance(system, str):
        return (TextPart(system),) if system else ()
    parts: list[Part] = []
    for i, block in enumerate(system):
        if not isinstance(block, dict) or block.get("type") != "text":
            raise InvalidRequest(f"system.{i}.type: system blocks must be text blocks", param=f"system.{i}.type")
        parts.append(_text(block, f"system.{i}", marks))
    return tuple(parts)


def _text(block: dict[str, Any], where: str, marks: _Marks) -> TextPart:
    extras = {k: block[k] for k in TEXT_EXTRAS if k in block}
    return TextPart(str(block.get("text", "")), marks.read(block, where), {SURFACE: extras} if extras else {})


def _reasoning(thinking: dict[str, Any] | None, output_config: Any) -> ReasoningOptions:
    """``thinking`` and ``output_config.effort`` (Claude Code: adaptive thinking, effort high)."""
    effort = output_config.get("effort") if isinstance(output_config, dict) else None
    effort = EFFORTS.get(effort) if isinstance(effort, str) else None
    if not thinking:
        return ReasoningOptions(effort=effort)
    kind = thinking.get("type")
    if kind == "disabled":
        return ReasoningOptions(enabled=False)
    budget = thinking.get("budget_tokens")
    return ReasoningOptions(
        enabled=True,
        budget_tokens=budget if isinstance(budget, int) else None,
        effort=None if isinstance(budget, int) else effort or "medium",
    )


def _tools(tools: list[dict[str, Any]], marks: _Marks) -> tuple[tuple[ToolSpec, ...], tuple[ServerTool, ...]]:
    specs: list[ToolSpec] = []
    server: list[ServerTool] = []
    for i, tool in enumerate(tools):
        where = f"tools.{i}"
        if not isinstance(tool, dict):
            raise InvalidRequest(f"{where}: must be an object", param=where)
        cache = marks.read(tool, where)
        if tool.get("type") not in (None, "custom"):  # a server tool (web_search_..., code_execution_...)
            server.append(ServerTool(SURFACE, str(tool.get("type")), tool, where))
            continue
        name = tool.get("name")
        schema = tool.get("input_schema")
        if not isinstance(name, str) or not name:
            raise InvalidRequest(f"{where}.name: required", param=f"{where}.name")
        if not isinstance(schema, dict):
            raise InvalidRequest(f"{where}.input_schema: must be a JSON Schema object", param=f"{where}.input_schema")
        specs.append(ToolSpec(name, str(tool.get("description") or ""), schema, tool.get("strict"), cache))
    return tuple(specs), tuple(server)


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


def _block(block: dict[str, Any], where: str, marks: _Marks) -> Part:
    if not isinstance(block, dict):
        raise InvalidRequest(f"{where}: each content block must be an object", param=where)
    kind = block.get("type")
    match kind:
        case "text":
            return _text(block, where, marks)
        case "image":
            return replace(_image(block, where), cache=marks.read(block, where))
        case "thinking":
            return ReasoningPart(str(block.get("thinking", "")), _signature_data(str(block.get("signature", ""))))
        case "redacted_thinking":
            return ReasoningPart("", {PROVIDER: {"redacted": str(block.get("data", ""))}})
        case "tool_use":
            if not isinstance(block.get("id"), str) or not isinstance(block.get("name"), str):
                raise InvalidRequest(f"{where}: tool_use needs id and name", param=where)
            arguments = orjson.dumps(block.get("input") or {}).decode()
            return ToolCallPart(block["id"], block["name"], arguments, cache=marks.read(block, where))
        case "tool_result":
            if not isinstance(block.get("tool_use_id"), str):
                raise InvalidRequest(f"{where}.tool_use_id: required", param=f"{where}.tool_use_id")
            cache = marks.read(block, where)
            content = block.get("content", "")
            # blocks a tool result may hold beyond text and images (document, search_result,
            # tool_reference) go to an Anthropic upstream as they came, and are left out elsewhere
            parts = (
                (TextPart(content),)
                if isinstance(content, str)
                else tuple(
                    p
                    for p in (_block(b, f"{where}.content.{j}", marks) for j, b in enumerate(content))
                    if isinstance(p, TextPart | ImagePart)
                )
            )
            return ToolResultPart(block["tool_use_id"], parts, bool(block.get("is_error")), cache)
    if not isinstance(kind, str) or not kind:
        raise InvalidRequest(f"{where}.type: required", param=f"{where}.type")
    # server_tool_use, web_search_tool_result, document, search_result, tool_reference, ...
    return OpaquePart(SURFACE, kind, block, where, marks.read(block, where))


def _message(message: MessageIn, where: str, marks: _Marks) -> list[Message]:
    if isinstance(message.content, str):
        parts: list[Part] = [TextPart(message.content)]
    else:
        parts = [_block(b, f"{where}.content.{j}", marks) for j, b in enumerate(message.content)]
    if message.role == "assistant":
        return [Message(Role.ASSISTANT, tuple(parts))]
    if message.role == "system":  # mid-conversation system message (beta mid-conversation-system-2026-04-07)
        return [Message(Role.SYSTEM, tuple(parts))]
    results = tuple(p for p in parts if isinstance(p, ToolResultPart))
    rest = tuple(p for p in parts if not isinstance(p, ToolResultPart))
    out = [Message(Role.TOOL, results)] if results else []
    return out + ([Message(Role.USER, rest)] if rest or not results else [])
