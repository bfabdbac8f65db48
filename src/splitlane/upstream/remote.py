"""What the HTTP upstream kinds share: a pooled client, auth headers, one streaming call."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import AsyncGenerator, AsyncIterator, Mapping
from typing import Any

from splitlane.config import UpstreamConfig
from splitlane.core.events import Event
from splitlane.core.request import ChatRequest
from splitlane.upstream.estimate import estimate_input_tokens
from splitlane.upstream.http import HttpClient, make_client, post_sse
from splitlane.upstream.sse import ServerSentEvent


class RemoteUpstream(ABC):
    """Base of the HTTP upstreams; a kind supplies its path, encoder, decoder and auth."""

    kind = ""
    path = ""

    def __init__(self, name: str, config: UpstreamConfig, default_max_tokens: int = 4096) -> None:
        self.name = name
        self.config = config
        self.default_max_tokens = default_max_tokens
        self.client: HttpClient = make_client(config)

    @abstractmethod
    def encode_request(self, request: ChatRequest) -> dict[str, Any]: ...

    @abstractmethod
    def decode_stream(self, source: AsyncIterator[ServerSentEvent]) -> AsyncIterator[Event]: ...

    def auth_headers(self, key: str) -> dict[str, str]:
        return {"authorization": f"Bearer {key}"}

    def headers(self, request: ChatRequest) -> dict[str, str]:
        headers = dict(self.config.headers)
        key = self.config.api_key()
        if key:
            headers.update(self.auth_headers(key))
        return headers

    async def stream(self, request: ChatRequest) -> AsyncGenerator[Event, None]:
        body = self.encode_request(request)
        async with post_sse(self.client, self.name, self.path, body, self.headers(request), paced=True) as events:
            async for event in self.decode_stream(events):
                yield event

    async def count_tokens(self, request: ChatRequest) -> int:
        return estimate_input_tokens(request)

    async def aclose(self) -> None:
        await self.client.aclose()


def forwarded(headers: Mapping[str, str], names: tuple[str, ...]) -> dict[str, str]:
    return {name: headers[name] for name in names if name in headers}
