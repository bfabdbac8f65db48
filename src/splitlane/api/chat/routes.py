"""POST /v1/chat/completions."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from splitlane.api.answer import answer
from splitlane.api.body import client_headers, read_json, validate
from splitlane.api.chat.decode import decode_request
from splitlane.api.chat.encode import ChatStreamEncoder, encode_response
from splitlane.api.chat.fold import ChatFold
from splitlane.api.chat.schema import ChatBody
from splitlane.api.event_stream import EventStream
from splitlane.api.guard import caller
from splitlane.api.relay import RelayEncoder
from splitlane.api.services import Services
from splitlane.api.surfaces import CHAT
from splitlane.core.errors import SplitlaneError
from splitlane.core.events import Relay
from splitlane.core.request import ChatRequest
from splitlane.core.response import ChatResponse
from splitlane.upstream.openai_chat.encode import wants_usage


class ChatRelayEncoder(RelayEncoder):
    def __init__(self, errors: ChatStreamEncoder, include_usage: bool) -> None:
        super().__init__(errors)
        self.include_usage = include_usage

    def keep(self, relay: Relay) -> bool:
        # the usage chunk the gateway asked the upstream for (telemetry), which this client did not
        data = relay.data
        return self.include_usage or not (isinstance(data, dict) and not data.get("choices") and data.get("usage"))


class ChatSurface:
    name = CHAT.name
    keepalive = CHAT.keepalive

    def render_error(self, error: SplitlaneError) -> tuple[int, dict[str, object]]:
        return CHAT.render_error(error)

    def stream_encoder(self, request: ChatRequest) -> ChatStreamEncoder:
        return ChatStreamEncoder(request, wants_usage(request))

    def relay_encoder(self, request: ChatRequest) -> ChatRelayEncoder:
        return ChatRelayEncoder(self.stream_encoder(request), wants_usage(request))

    def wire_fold(self, streaming: bool) -> ChatFold | None:
        return None if streaming else ChatFold()

    def encode_response(self, request: ChatRequest, response: ChatResponse) -> dict[str, Any]:
        return encode_response(request, response)


async def create(request: Request, services: Services) -> Response | EventStream:
    raw = await read_json(request, services.config.max_body_bytes)
    canonical = decode_request(validate(ChatBody, raw), client_headers(request), raw)
    return await answer(ChatSurface(), services, canonical, caller(request.scope))
