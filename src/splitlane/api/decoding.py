"""Decode a request body of any surface without a server (for ``splitlane route explain``)."""

from __future__ import annotations

from typing import Any

from splitlane.api.body import validate
from splitlane.api.chat.decode import decode_request as decode_chat
from splitlane.api.chat.schema import ChatBody
from splitlane.api.messages.decode import decode_request as decode_messages
from splitlane.api.messages.schema import MessagesBody
from splitlane.api.responses.decode import decode_request as decode_responses
from splitlane.api.responses.decode import input_items
from splitlane.api.responses.schema import ResponsesBody
from splitlane.core.request import ChatRequest

SURFACES = ("responses", "chat", "messages")


def guess_surface(body: dict[str, Any], headers: dict[str, str]) -> str:
    if "input" in body:
        return "responses"
    if "anthropic-version" in headers or "system" in body:
        return "messages"
    for message in body.get("messages") or []:
        content = message.get("content") if isinstance(message, dict) else None
        if isinstance(content, list) and any(
            isinstance(b, dict) and b.get("type") in ("tool_use", "tool_result", "thinking") for b in content
        ):
            return "messages"
    return "chat"


def decode_any(surface: str, body: Any, headers: dict[str, str]) -> ChatRequest:
    match surface:
        case "responses":
            parsed = validate(ResponsesBody, body)
            return decode_responses(parsed, input_items(parsed), headers)
        case "messages":
            return decode_messages(validate(MessagesBody, body), headers)
    return decode_chat(validate(ChatBody, body), headers)
