"""Upstream kind ``openai_chat``: any OpenAI-compatible Chat Completions server."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from splitlane.core.events import Event
from splitlane.core.request import ChatRequest
from splitlane.upstream.openai_chat.decode import decode_stream
from splitlane.upstream.openai_chat.encode import encode_request
from splitlane.upstream.remote import RemoteUpstream
from splitlane.upstream.sse import ServerSentEvent


class OpenAIChatUpstream(RemoteUpstream):
    kind = "openai_chat"
    path = "/chat/completions"

    def encode_request(self, request: ChatRequest) -> dict[str, Any]:
        return encode_request(request)

    def decode_stream(self, source: AsyncIterator[ServerSentEvent]) -> AsyncIterator[Event]:
        return decode_stream(source, self.name)
