"""What the HTTP upstream kinds share: a pooled client, auth headers, one streaming call.

A request that came in on the surface this upstream speaks (``protocol``) is a lossless hop: the
client's own JSON goes out with only the gateway's edits (``edit``: model name, caps, cache policy,
``stream``), and each upstream event comes back as it came (a ``Relay`` after the canonical events
decoded from it, which the gateway reads). Any other request is encoded from the canonical model.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import AsyncGenerator, AsyncIterator, Mapping
from typing import Any, Protocol

import orjson

from splitlane.config import UpstreamConfig
from splitlane.core.errors import SplitlaneError
from splitlane.core.events import Event, Relay
from splitlane.core.request import ChatRequest
from splitlane.upstream import unsupported
from splitlane.upstream.estimate import estimate_input_tokens
from splitlane.upstream.http import HttpClient, post_raw, post_sse
from splitlane.upstream.sse import ServerSentEvent


class StreamDecoder(Protocol):
    """An upstream kind's decoder: one server-sent event in, the canonical events it makes out."""

    data: Any  # the last event's parsed JSON (None for a ping, a comment, [DONE])
    done: bool  # the stream's terminal event was seen

    def feed(self, sse: ServerSentEvent) -> list[Event]: ...

    def end(self) -> list[Event]:
        """The stream ended without its terminal event: its last events, or an error."""
        ...


def frame(sse: ServerSentEvent) -> bytes:
    """The event's SSE framing again, its data text unchanged."""
    head = b"" if sse.event == "message" else b"event: " + sse.event.encode() + b"\n"
    data = sse.data.encode()
    if b"\n" in data:
        return head + b"".join(b"data: " + line + b"\n" for line in data.split(b"\n")) + b"\n"
    return head + b"data: " + data + b"\n\n"


class RemoteUpstream(ABC):
    """Base of the HTTP upstreams; a kind supplies its path, encoder, decoder and auth."""

    kind = ""
    path = ""
    protocol = ""  # the surface that speaks this upstream's API: its requests are forwarded as they came

    def __init__(self, name: str, config: UpstreamConfig, default_max_tokens: int = 4096) -> None:
        self.name = name
        self.config = config
        self.default_max_tokens = default_max_tokens
        self.client: HttpClient = HttpClient(config)
        self._counts: bool | None = None  # the server's counting endpoint: unknown, there, or not

    @abstractmethod
    def encode_request(self, request: ChatRequest) -> dict[str, Any]:
        """The upstream's JSON for a request of another protocol (through the canonical model)."""

    @abstractmethod
    def edit(self, body: dict[str, Any], request: ChatRequest) -> None:
        """The gateway's own edits of a same-protocol request body (a copy of the client's)."""

    @abstractmethod
    def decoder(self) -> StreamDecoder: ...

    def relays(self, request: ChatRequest) -> bool:
        """Whether ``request`` goes out as the client sent it and its events come back as they came."""
        return request.wire is not None and request.surface == self.protocol

    def body(self, request: ChatRequest) -> dict[str, Any]:
        if not self.relays(request):
            # what this API cannot express is refused (400) or left out, by the upstream's setting
            unsupported.check(request, self.protocol, self.config, self.kind)
            return self.encode_request(request)
        assert request.wire is not None
        body = dict(request.wire)
        body["model"] = request.model
        body["stream"] = True
        self.edit(body, request)
        return body

    def auth_headers(self, key: str) -> dict[str, str]:
        return {"authorization": f"Bearer {key}"}

    def headers(self, request: ChatRequest) -> dict[str, str]:
        headers = dict(self.config.headers)
        key = self.config.api_key()
        if key:
            headers.update(self.auth_headers(key))
        return headers

    async def stream(self, request: ChatRequest) -> AsyncGenerator[Event, None]:
        relay = self.relays(request)
        body = self.body(request)
        decoder = self.decoder()
        async with post_sse(self.client, self.name, self.path, body, self.headers(request), paced=True) as events:
            async for sse in events:
                for event in decoder.feed(sse):
                    yield event
                if relay:
                    yield Relay(frame(sse), decoder.data)
                if decoder.done:
                    return
            for event in decoder.end():
                yield event

    async def decode_stream(self, source: AsyncIterator[ServerSentEvent]) -> AsyncIterator[Event]:
        """Canonical events of a whole stream (no relay)."""
        decoder = self.decoder()
        async for sse in source:
            for event in decoder.feed(sse):
                yield event
            if decoder.done:
                return
        for event in decoder.end():
            yield event

    async def count_tokens(self, request: ChatRequest) -> int:
        return estimate_input_tokens(request)

    async def counted(
        self, client: HttpClient, path: str, body: Mapping[str, Any], request: ChatRequest, key: str
    ) -> int:
        """The server's own count from its counting endpoint, where it has one. A server without it
        (404, 405, 501, or an answer without ``key``) is not asked again; it, and a failure to
        reach one, get the character estimate."""
        if self._counts is False:
            return estimate_input_tokens(request)
        try:
            status, raw, _ = await post_raw(client, self.name, path, body, self.headers(request))
        except SplitlaneError:
            return estimate_input_tokens(request)  # unreachable now: asked again next time
        count = _count(raw, key) if status == 200 else None
        if count is None and (status in NO_COUNTER or status == 200):
            self._counts = False
        return count if count is not None else estimate_input_tokens(request)

    async def aclose(self) -> None:
        await self.client.aclose()


NO_COUNTER = frozenset({404, 405, 501})


def _count(raw: bytes, key: str) -> int | None:
    try:
        answer = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None
    count = answer.get(key) if isinstance(answer, dict) else None
    return count if isinstance(count, int) and not isinstance(count, bool) and count >= 0 else None


def forwarded(headers: Mapping[str, str], names: tuple[str, ...]) -> dict[str, str]:
    return {name: headers[name] for name in names if name in headers}


def capped(body: dict[str, Any], request: ChatRequest, keys: tuple[str, ...]) -> None:
    """Lower the client's max-tokens field to the gateway's cap (``request.max_output_tokens``)."""
    cap = request.max_output_tokens
    if cap is None:
        return
    present = [k for k in keys if k in body]
    for key in present:
        if not isinstance(body[key], int) or body[key] > cap:
            body[key] = cap
    if not present:
        body[keys[0]] = cap
