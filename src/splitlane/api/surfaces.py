"""The three API surfaces, once: each one's name, turn path, request decoder, error renderer and
keepalive form. The app's routes and error boundaries, the guard, not-found answers and
``splitlane route explain`` all read this table; what belongs to one turn (its stream and relay
encoders, its response encoder and fold) is the route's own ``Surface`` object (``api/turn.py``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from splitlane.api.body import validate
from splitlane.api.chat.decode import decode_request as decode_chat
from splitlane.api.chat.schema import ChatBody
from splitlane.api.error_response import Renderer
from splitlane.api.messages.decode import decode_request as decode_messages
from splitlane.api.messages.encode import render_error as render_anthropic_error
from splitlane.api.messages.schema import MessagesBody
from splitlane.api.openai_errors import render_openai_error
from splitlane.api.responses.decode import decode_request as decode_responses
from splitlane.api.responses.decode import input_items
from splitlane.api.responses.schema import ResponsesBody
from splitlane.api.sse import COMMENT_KEEPALIVE, PING_EVENT
from splitlane.core.request import ChatRequest


@dataclass(frozen=True, slots=True)
class SurfaceSpec:
    name: str
    path: str  # its turn route (POST)
    render_error: Renderer
    keepalive: bytes  # what a silent stream sends, that the surface's clients ignore
    decode: Callable[[Any, dict[str, str]], ChatRequest]  # a body (not yet validated) -> the canonical request


def _responses(body: Any, headers: dict[str, str]) -> ChatRequest:
    parsed = validate(ResponsesBody, body)
    return decode_responses(parsed, input_items(parsed), headers)


def _messages(body: Any, headers: dict[str, str]) -> ChatRequest:
    return decode_messages(validate(MessagesBody, body), headers)


def _chat(body: Any, headers: dict[str, str]) -> ChatRequest:
    return decode_chat(validate(ChatBody, body), headers)


RESPONSES = SurfaceSpec("responses", "/v1/responses", render_openai_error, COMMENT_KEEPALIVE, _responses)
CHAT = SurfaceSpec("chat", "/v1/chat/completions", render_openai_error, COMMENT_KEEPALIVE, _chat)
MESSAGES = SurfaceSpec("messages", "/v1/messages", render_anthropic_error, PING_EVENT, _messages)
SURFACES: Mapping[str, SurfaceSpec] = {s.name: s for s in (RESPONSES, CHAT, MESSAGES)}


def for_request(path: str, headers: Mapping[str, str]) -> SurfaceSpec:
    """The surface whose error format a request outside the turn routes gets: Anthropic's for
    its paths and for clients that send ``anthropic-version``, OpenAI's otherwise."""
    if path.startswith(MESSAGES.path) or "anthropic-version" in headers:
        return MESSAGES
    return CHAT


def guess_surface(body: dict[str, Any], headers: dict[str, str]) -> str:
    """Which surface a body was written for (route explain, when not told)."""
    if "input" in body:
        return RESPONSES.name
    if "anthropic-version" in headers or "system" in body:
        return MESSAGES.name
    for message in body.get("messages") or []:
        content = message.get("content") if isinstance(message, dict) else None
        if isinstance(content, list) and any(
            isinstance(b, dict) and b.get("type") in ("tool_use", "tool_result", "thinking") for b in content
        ):
            return MESSAGES.name
    return CHAT.name
