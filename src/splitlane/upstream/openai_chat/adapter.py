"""Upstream kind ``openai_chat``: any OpenAI-compatible Chat Completions server.

``count_tokens`` asks the server's own tokenizer where it has one: vLLM's (and SGLang's)
``POST /tokenize`` at the server's root, with the request's messages and tools through its chat
template (``RemoteUpstream.counted``)."""

from __future__ import annotations

from typing import Any

from splitlane.core.request import ChatRequest
from splitlane.upstream.http import HttpClient
from splitlane.upstream.openai_chat.decode import ChatDecoder
from splitlane.upstream.openai_chat.encode import encode_request
from splitlane.upstream.remote import RemoteUpstream, capped


class OpenAIChatUpstream(RemoteUpstream):
    kind = "openai_chat"
    path = "/chat/completions"
    protocol = "chat"
    _root: HttpClient | None = None  # the server's root (/tokenize is not under /v1)

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

    async def count_tokens(self, request: ChatRequest) -> int:
        encoded = self.encode_request(request)
        body = {"model": request.model, "messages": encoded["messages"], "add_generation_prompt": True}
        if encoded.get("tools"):
            body["tools"] = encoded["tools"]
        if self._root is None:
            self._root = HttpClient(self.config, self.client.base_url.removesuffix("/v1"))
        return await self.counted(self._root, "/tokenize", body, request, "count")

    async def aclose(self) -> None:
        await super().aclose()
        if self._root is not None:
            await self._root.aclose()
