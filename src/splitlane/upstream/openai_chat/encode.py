"""ChatRequest -> OpenAI Chat Completions request JSON (for requests of the other surfaces; a Chat
request goes out as the client sent it, see upstream/remote.py)."""

from __future__ import annotations

from typing import Any

from splitlane.config import UpstreamConfig
from splitlane.core.parts import ImagePart, Message, ReasoningPart, Role, TextPart, ToolCallPart, ToolResultPart
from splitlane.core.request import ChatRequest, ToolChoiceMode
from splitlane.upstream.openai_chat.reasoning import CLOSE, OPEN, reasoning_fields

# Chat-surface fields that an OpenAI-compatible upstream understands as they are.
PASSTHROUGH = (
    "response_format",
    "logit_bias",
    "logprobs",
    "top_logprobs",
    "presence_penalty",
    "frequency_penalty",
    "n",
    "user",
    "service_tier",
    "prediction",
    "min_p",
    "repetition_penalty",
    "ignore_eos",  # vLLM, SGLang, llama.cpp server: generate exactly max_tokens (benchmark replay)
)


def wants_usage(request: ChatRequest) -> bool:
    """Whether a Chat client asked for the usage chunk (``stream_options.include_usage``)."""
    options = request.extensions.get("stream_options")
    return isinstance(options, dict) and bool(options.get("include_usage"))


def encode_request(request: ChatRequest, config: UpstreamConfig | None = None) -> dict[str, Any]:
    reasoning_format = config.reasoning_format if config is not None else None
    loop_start = _tool_loop_start(request.messages)
    body: dict[str, Any] = {
        "model": request.model,
        "messages": [
            m
            for i, message in enumerate(request.messages)
            for m in encode_message(message, reasoning_format if i >= loop_start else None)
        ],
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    if request.tools:
        body["tools"] = [
            {
                "type": "function",
                "function": {
                    "name": t.name,
                    "description": t.description,
                    "parameters": dict(t.parameters),
                    **({"strict": t.strict} if t.strict is not None else {}),
                },
            }
            for t in request.tools
        ]
        body["tool_choice"] = _tool_choice(request)
        if request.tool_choice.parallel is not None:
            body["parallel_tool_calls"] = request.tool_choice.parallel
    sampling = request.sampling
    for key, value in (
        ("temperature", sampling.temperature),
        ("top_p", sampling.top_p),
        ("top_k", sampling.top_k),
        ("seed", sampling.seed),
        ("max_tokens", request.max_output_tokens),
    ):
        if value is not None:
            body[key] = value
    if request.stop:
        body["stop"] = list(request.stop)
    if request.reasoning.effort:
        body["reasoning_effort"] = request.reasoning.effort
    if request.surface == "chat":
        body.update({k: v for k, v in request.extensions.items() if k in PASSTHROUGH})
    cache_key: Any = request.extensions.get("prompt_cache_key")  # a Responses client's own (Codex: its conversation id)
    if not isinstance(cache_key, str) and config is not None and config.cache.prompt_cache_key:
        cache_key = request.session
    if isinstance(cache_key, str) and cache_key:
        body["prompt_cache_key"] = cache_key
    return body


def _tool_loop_start(messages: tuple[Message, ...]) -> int:
    """Index of the first message after the last user message: the current tool loop."""
    for i in range(len(messages) - 1, -1, -1):
        if messages[i].role is Role.USER:
            return i + 1
    return 0


def _tool_choice(request: ChatRequest) -> Any:
    choice = request.tool_choice
    if choice.mode is ToolChoiceMode.TOOL:
        return {"type": "function", "function": {"name": choice.name}}
    return str(choice.mode)


def _content(parts: list[TextPart | ImagePart]) -> str | list[dict[str, Any]]:
    if all(isinstance(p, TextPart) for p in parts):
        return "".join(p.text for p in parts if isinstance(p, TextPart))
    out: list[dict[str, Any]] = []
    for part in parts:
        if isinstance(part, TextPart):
            out.append({"type": "text", "text": part.text})
        else:
            url = part.url or f"data:{part.media_type};base64,{part.data}"
            out.append({"type": "image_url", "image_url": {"url": url}})
    return out


def encode_message(message: Message, reasoning_format: str | None = None) -> list[dict[str, Any]]:
    """``reasoning_format``: how this assistant message's reasoning goes back (None: it does not)."""
    if message.role is Role.TOOL:
        return [{"role": "tool", "tool_call_id": r.call_id, "content": r.text} for r in message.of_type(ToolResultPart)]
    visible = [p for p in message.parts if isinstance(p, TextPart | ImagePart)]
    if message.role is not Role.ASSISTANT:
        return [{"role": str(message.role), "content": _content(visible)}]
    thought = "".join(p.text for p in message.of_type(ReasoningPart))
    if reasoning_format == "think_tags" and thought:
        visible = [TextPart(f"{OPEN}{thought}{CLOSE}\n\n"), *visible]
    out: dict[str, Any] = {"role": "assistant", "content": _content(visible) or None}
    out.update(reasoning_fields(reasoning_format, thought))
    calls = message.of_type(ToolCallPart)
    if calls:
        out["tool_calls"] = [
            {"id": c.id, "type": "function", "function": {"name": c.name, "arguments": c.arguments}} for c in calls
        ]
    return [out]
