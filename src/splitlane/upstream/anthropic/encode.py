"""ChatRequest -> Anthropic Messages request JSON (for requests of the other surfaces; a Messages
request goes out as the client sent it, see upstream/remote.py)."""

from __future__ import annotations

from typing import Any

import orjson

from splitlane.config import UpstreamConfig
from splitlane.core.parts import (
    CacheHint,
    ImagePart,
    Message,
    OpaquePart,
    Part,
    ReasoningPart,
    Role,
    TextPart,
    ToolCallPart,
    ToolResultPart,
)
from splitlane.core.request import ChatRequest, ToolChoiceMode
from splitlane.upstream.anthropic.breakpoints import add_breakpoints

PROVIDER = "anthropic"
SURFACE = "messages"  # the surface whose opaque blocks and extras are Anthropic's own
# Messages-surface fields an Anthropic upstream understands as they are.
PASSTHROUGH = ("service_tier", "output_config", "context_management", "container", "mcp_servers")
EFFORT_BUDGETS = {"minimal": 1024, "low": 2048, "medium": 8192, "high": 16384, "xhigh": 24576, "max": 32000}


def cache_control(hint: CacheHint | None) -> dict[str, Any]:
    if hint is None:
        return {}
    return {"cache_control": {"type": "ephemeral", **({"ttl": hint.ttl} if hint.ttl else {})}}


def encode_request(
    request: ChatRequest, default_max_tokens: int, config: UpstreamConfig | None = None
) -> dict[str, Any]:
    system, rest = request.split_system_messages()
    system_blocks = [b for m in system for b in (_block(p) for p in m.parts) if b and b["type"] == "text"]
    body: dict[str, Any] = {
        "model": request.model,
        "messages": _merge([m for m in (_message(msg) for msg in rest) if m["content"]]),
        "max_tokens": request.max_output_tokens or default_max_tokens,
        "stream": True,
    }
    if request.tools:
        body["tools"] = [
            {
                "name": t.name,
                "description": t.description,
                "input_schema": dict(t.parameters),
                **cache_control(t.cache),
            }
            for t in request.tools
        ]
        body["tool_choice"] = _tool_choice(request)
    body["tools"] = body.get("tools", []) + [dict(t.data) for t in request.server_tools if t.surface == SURFACE]
    if not body["tools"]:
        del body["tools"]
    auto = config is not None and config.cache.breakpoints == "auto" and not request.has_cache_hints
    if system_blocks:
        # one string when nothing marks it; else each part its own block (a breakpoint goes on the last)
        plain = all(set(b) == {"type", "text"} for b in system_blocks)
        body["system"] = "\n\n".join(b["text"] for b in system_blocks) if plain and not auto else system_blocks
    if auto:
        assert config is not None
        add_breakpoints(body, config.cache.ttl)
    sampling = request.sampling
    for key, value in (("temperature", sampling.temperature), ("top_p", sampling.top_p), ("top_k", sampling.top_k)):
        if value is not None:
            body[key] = value
    if request.stop:
        body["stop_sequences"] = list(request.stop)
    if "user_id" in request.metadata:
        body["metadata"] = {"user_id": request.metadata["user_id"]}
    thinking = _thinking(request, body["max_tokens"])
    if thinking is not None:
        body["thinking"] = thinking
    if request.surface == SURFACE:
        body.update({k: v for k, v in request.extensions.items() if k in PASSTHROUGH})
    return body


def _thinking(request: ChatRequest, max_tokens: int) -> dict[str, Any] | None:
    raw = request.extensions.get("thinking") if request.surface == SURFACE else None
    if isinstance(raw, dict):
        return raw
    options = request.reasoning
    if options.enabled is False or (options.budget_tokens is None and options.effort in (None, "none")):
        return None
    budget = options.budget_tokens or EFFORT_BUDGETS.get(options.effort or "medium", 8192)
    budget = max(1024, min(budget, max_tokens - 1))
    return {"type": "enabled", "budget_tokens": budget} if max_tokens > 1024 else None


def _tool_choice(request: ChatRequest) -> dict[str, Any]:
    choice = request.tool_choice
    modes: dict[ToolChoiceMode, dict[str, Any]] = {
        ToolChoiceMode.AUTO: {"type": "auto"},
        ToolChoiceMode.NONE: {"type": "none"},
        ToolChoiceMode.REQUIRED: {"type": "any"},
        ToolChoiceMode.TOOL: {"type": "tool", "name": choice.name},
    }
    out = dict(modes[choice.mode])
    if choice.parallel is False and choice.mode is not ToolChoiceMode.NONE:
        out["disable_parallel_tool_use"] = True
    return out


def _image(part: ImagePart) -> dict[str, Any]:
    if part.url:
        return {"type": "image", "source": {"type": "url", "url": part.url}, **cache_control(part.cache)}
    source = {"type": "base64", "media_type": part.media_type, "data": part.data}
    return {"type": "image", "source": source, **cache_control(part.cache)}


def _block(part: Part) -> dict[str, Any] | None:
    match part:
        case TextPart(text=text, cache=cache, extras=extras):
            if not text:
                return None
            return {"type": "text", "text": text, **dict(extras.get(SURFACE) or {}), **cache_control(cache)}
        case ImagePart():
            return _image(part)
        case ReasoningPart(text=text, provider_data=data):
            mine = data.get(PROVIDER)
            if not mine:
                return None  # never fabricate or cross-send a signature
            if "redacted" in mine:
                return {"type": "redacted_thinking", "data": mine["redacted"]}
            return {"type": "thinking", "thinking": text, "signature": mine.get("signature", "")}
        case ToolCallPart(id=call_id, name=name, arguments=arguments, cache=cache):
            return {
                "type": "tool_use",
                "id": call_id,
                "name": name,
                "input": _arguments(arguments),
                **cache_control(cache),
            }
        case ToolResultPart(call_id=call_id, content=content, is_error=is_error, cache=cache):
            blocks = [b for b in (_block(p) for p in content) if b]
            out: dict[str, Any] = {"type": "tool_result", "tool_use_id": call_id, "content": blocks}
            if is_error:
                out["is_error"] = True
            return out | cache_control(cache)
        case OpaquePart(surface=surface, data=data) if surface == SURFACE:
            return dict(data)
    return (
        None  # an opaque part of another protocol: refused or dropped by upstream/unsupported.py (RemoteUpstream.body)
    )


def _arguments(arguments: str) -> dict[str, Any]:
    try:
        value = orjson.loads(arguments or "{}")
    except orjson.JSONDecodeError:
        return {"arguments": arguments}
    return value if isinstance(value, dict) else {"value": value}


def _message(message: Message) -> dict[str, Any]:
    # a system message after the conversation began is user text here (docs/protocols.md)
    role = "assistant" if message.role is Role.ASSISTANT else "user"
    blocks = [b for b in (_block(p) for p in message.parts) if b]
    return {"role": role, "content": blocks}


def _merge(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Join neighbours of the same role (tool results then user text make one user turn)."""
    merged: list[dict[str, Any]] = []
    for message in messages:
        if merged and merged[-1]["role"] == message["role"]:
            merged[-1]["content"].extend(message["content"])
        else:
            merged.append({"role": message["role"], "content": list(message["content"])})
    return merged
