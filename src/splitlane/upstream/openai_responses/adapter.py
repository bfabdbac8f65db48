"""Upstream kind ``openai_responses``: the OpenAI Responses API or a server that speaks it."""

from __future__ import annotations

from typing import Any

from splitlane.core import opaque
from splitlane.core.request import ChatRequest
from splitlane.upstream.http import post_json
from splitlane.upstream.openai_responses.decode import ResponsesDecoder
from splitlane.upstream.openai_responses.encode import ENCRYPTED, PROVIDER, encode_request
from splitlane.upstream.remote import RemoteUpstream, capped


class OpenAIResponsesUpstream(RemoteUpstream):
    kind = "openai_responses"
    path = "/responses"
    protocol = "responses"

    def encode_request(self, request: ChatRequest) -> dict[str, Any]:
        return encode_request(request, self.config)

    def edit(self, body: dict[str, Any], request: ChatRequest) -> None:
        # The gateway keeps conversation state itself (previous_response_id is resolved before
        # this, the full history is in input), so the upstream stores nothing; reasoning then
        # comes back encrypted, so that it can be replayed on later turns.
        if body.get("store") is not False:
            body["store"] = False
            if body.get("reasoning"):
                include = body.get("include")
                include = list(include) if isinstance(include, list) else []
                body["include"] = include if ENCRYPTED in include else [*include, ENCRYPTED]
        capped(body, request, ("max_output_tokens",))
        replayed = opaque.replay(body.get("input"), "reasoning", "encrypted_content", PROVIDER)
        if replayed is not None:
            body["input"] = replayed
        if self.config.cache.prompt_cache_key and request.session and "prompt_cache_key" not in body:
            body["prompt_cache_key"] = request.session

    async def count_tokens(self, request: ChatRequest) -> int:
        """OpenAI's ``POST /responses/input_tokens`` with the request as it would go upstream."""
        body = self.body(request)
        for key in ("stream", "store", "include", "max_output_tokens", "stream_options", "background"):
            body.pop(key, None)
        return await self.counted(self.client, "/responses/input_tokens", body, request, "input_tokens")

    async def compact(self, request: ChatRequest) -> Any:
        """``POST /responses/compact`` (Codex's remote compaction) with the client's body, as it came."""
        assert request.wire is not None
        body = {**request.wire, "model": request.model}
        return await post_json(self.client, self.name, "/responses/compact", body, self.headers(request))

    def decoder(self) -> ResponsesDecoder:
        return ResponsesDecoder(self.name)
