"""Capture mode: a finished turn's full content, in Chat Completions form, redacted, for
``splitlane capture export`` (agentsession/v1)."""

from __future__ import annotations

import orjson

from splitlane.core.parts import Message, Role
from splitlane.core.request import ChatRequest
from splitlane.core.response import ChatResponse
from splitlane.telemetry.redact import Redactor
from splitlane.telemetry.writer import Captured
from splitlane.upstream.openai_chat.encode import encode_message, encode_request


class Capturer:
    def __init__(self, redactor: Redactor) -> None:
        self.redact = redactor

    def __call__(self, request: ChatRequest, response: ChatResponse) -> Captured:
        body = encode_request(request)
        wanted = {"messages": body["messages"], "tools": body.get("tools", [])}
        if request.max_output_tokens is not None:
            wanted["max_tokens"] = request.max_output_tokens
        (message,) = encode_message(Message(Role.ASSISTANT, response.parts))
        output = {
            "message": message,
            "stop_reason": str(response.stop_reason),
            "usage": {
                "input_tokens": response.usage.input_tokens,
                "cached_input_tokens": response.usage.cached_input_tokens,
                "output_tokens": response.usage.output_tokens,
                "reasoning_tokens": response.usage.reasoning_tokens,
            },
        }
        return Captured(orjson.dumps(self.redact(wanted)).decode(), orjson.dumps(self.redact(output)).decode())
