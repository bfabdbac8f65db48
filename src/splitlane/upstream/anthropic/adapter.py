"""Upstream kind ``anthropic``: the Anthropic Messages API or any server that speaks it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from splitlane.config import UpstreamConfig
from splitlane.core.events import Event
from splitlane.core.request import ChatRequest
from splitlane.upstream.anthropic.decode import decode_stream
from splitlane.upstream.anthropic.encode import encode_request
from splitlane.upstream.http import post_json
from splitlane.upstream.remote import RemoteUpstream, forwarded
from splitlane.upstream.sse import ServerSentEvent

ANTHROPIC_VERSION = "2023-06-01"
FORWARDED = ("anthropic-beta", "anthropic-version")


class AnthropicUpstream(RemoteUpstream):
    kind = "anthropic"
    path = "/v1/messages"

    def __init__(self, name: str, config: UpstreamConfig, default_max_tokens: int = 4096) -> None:
        super().__init__(name, config, default_max_tokens)
        # ANTHROPIC_BASE_URL convention is the host without /v1; accept either.
        self.prefix = "" if str(self.client.base_url).rstrip("/").endswith("/v1") else "/v1"
        self.path = f"{self.prefix}/messages"

    def encode_request(self, request: ChatRequest) -> dict[str, Any]:
        return encode_request(request, self.default_max_tokens)

    def decode_stream(self, source: AsyncIterator[ServerSentEvent]) -> AsyncIterator[Event]:
        return decode_stream(source, self.name)

    def auth_headers(self, key: str) -> dict[str, str]:
        return {"x-api-key": key}

    def headers(self, request: ChatRequest) -> dict[str, str]:
        # Claude Code's gateway contract: forward anthropic-beta and anthropic-version unchanged.
        return {
            "anthropic-version": ANTHROPIC_VERSION,
            **super().headers(request),
            **forwarded(request.headers, FORWARDED),
        }

    async def count_tokens(self, request: ChatRequest) -> int:
        body = self.encode_request(request)
        for key in ("max_tokens", "stream", "stop_sequences", "temperature", "top_p", "top_k", "metadata"):
            body.pop(key, None)
        path = f"{self.prefix}/messages/count_tokens"
        answer = await post_json(self.client, self.name, path, body, self.headers(request))
        return int(answer["input_tokens"])
