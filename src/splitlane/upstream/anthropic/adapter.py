"""Upstream kind ``anthropic``: the Anthropic Messages API or any server that speaks it."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from splitlane.config import UpstreamConfig
from splitlane.core import opaque
from splitlane.core.request import ChatRequest
from splitlane.upstream.anthropic.decode import AnthropicDecoder
from splitlane.upstream.anthropic.encode import PROVIDER, encode_request
from splitlane.upstream.http import post_json
from splitlane.upstream.remote import RemoteUpstream, capped, forwarded

ANTHROPIC_VERSION = "2023-06-01"
FORWARDED = ("anthropic-beta", "anthropic-version")
# What count_tokens does not take of a Messages request.
NOT_COUNTED = ("max_tokens", "stream", "stop_sequences", "temperature", "top_p", "top_k", "metadata", "service_tier")


class AnthropicUpstream(RemoteUpstream):
    kind = "anthropic"
    path = "/v1/messages"
    protocol = "messages"

    def __init__(self, name: str, config: UpstreamConfig, default_max_tokens: int = 4096) -> None:
        super().__init__(name, config, default_max_tokens)
        # ANTHROPIC_BASE_URL convention is the host without /v1; accept either.
        self.prefix = "" if str(self.client.base_url).rstrip("/").endswith("/v1") else "/v1"
        self.path = f"{self.prefix}/messages"

    def encode_request(self, request: ChatRequest) -> dict[str, Any]:
        return encode_request(request, self.default_max_tokens, self.config)

    def edit(self, body: dict[str, Any], request: ChatRequest) -> None:
        capped(body, request, ("max_tokens",))
        messages = body.get("messages")
        if isinstance(messages, list):
            edited = [_replayed(m) for m in messages]
            if any(e is not m for e, m in zip(edited, messages, strict=True)):
                body["messages"] = edited

    def decoder(self) -> AnthropicDecoder:
        return AnthropicDecoder(self.name)

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
        if self.relays(request):
            assert request.wire is not None
            body = {**request.wire, "model": request.model}
        else:
            body = self.encode_request(request)
        for key in NOT_COUNTED:
            body.pop(key, None)
        path = f"{self.prefix}/messages/count_tokens"
        answer = await post_json(self.client, self.name, path, body, self.headers(request))
        return int(answer["input_tokens"])


def _replayed(message: Any) -> Any:
    """An assistant message with thinking another provider made (packed by the gateway in the
    signature) left out, and this provider's own unpacked; the message itself when none is."""
    if not isinstance(message, dict) or message.get("role") != "assistant":
        return message
    content = opaque.replay(message.get("content"), "thinking", "signature", PROVIDER, _thinking)
    return message if content is None else {**message, "content": content}


def _thinking(block: dict[str, Any], mine: Mapping[str, Any]) -> dict[str, Any]:
    if "redacted" in mine:
        return {"type": "redacted_thinking", "data": mine["redacted"]}
    return {**block, "signature": mine.get("signature", "")}
