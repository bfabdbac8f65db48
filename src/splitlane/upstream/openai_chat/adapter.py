"""Upstream kind ``openai_chat``: any OpenAI-compatible Chat Completions server."""

from __future__ import annotations

from typing import Any

from splitlane.core.request import ChatRequest
from splitlane.upstream.openai_chat.decode import ChatDecoder
from splitlane.upstream.openai_chat.encode import encode_request
from splitlane.upstream.remote import RemoteUpstream, capped


class OpenAIChatUpstream(RemoteUpstream):
    kind = "openai_chat"
    path = "/chat/completions"
    protocol = "chat"

    def encode_request(self, request: ChatRequest) -> dict[str, Any]:
        return encode_request(request, self.config)

    def edit(self, body: dict[str, Any], request: ChatRequest) -> None:
        options = body.get("stream_options")
        body["stream_options"] = {**(options if isinstance(options, dict) else {}), "include_usage": True}
        capped(body, request, ("max_tokens", "max_completion_tokens"))
        if self.config.cache.prompt_cache_key and request.session and "prompt_cache_key" not in body:
            body["prompt_cache_key"] = request.session

    def decoder(self) -> ChatDecoder:
        return ChatDecoder(self.name, self.config.reasoning_format)
