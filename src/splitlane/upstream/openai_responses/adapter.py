"""Upstream kind ``openai_responses``: the OpenAI Responses API or a server that speaks it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from splitlane.core.events import Event
from splitlane.core.request import ChatRequest
from splitlane.upstream.openai_responses.decode import decode_stream
from splitlane.upstream.openai_responses.encode import encode_request
from splitlane.upstream.remote import RemoteUpstream
from splitlane.upstream.sse import ServerSentEvent


class OpenAIResponsesUpstream(RemoteUpstream):
    kind = "openai_responses"
    path = "/responses"

    def encode_request(self, request: ChatRequest) -> dict[str, Any]:
        return encode_request(request)

    def decode_stream(self, source: AsyncIterator[ServerSentEvent]) -> AsyncIterator[Event]:
        return decode_stream(source, self.name)
