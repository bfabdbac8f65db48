"""POST /v1/messages and POST /v1/messages/count_tokens (query strings such as ?beta=true ignored)."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response

from splitlane.api.answer import answer
from splitlane.api.body import client_headers, read_json, validate
from splitlane.api.event_stream import EventStream
from splitlane.api.guard import caller
from splitlane.api.messages.decode import decode_request
from splitlane.api.messages.encode import MessagesStreamEncoder, encode_response
from splitlane.api.messages.fold import MessagesFold
from splitlane.api.messages.schema import CountTokensBody, MessagesBody
from splitlane.api.relay import RelayEncoder
from splitlane.api.services import Services
from splitlane.api.surfaces import MESSAGES
from splitlane.core.errors import SplitlaneError
from splitlane.core.request import ChatRequest
from splitlane.core.response import ChatResponse


class MessagesSurface:
    name = MESSAGES.name
    keepalive = MESSAGES.keepalive

    def render_error(self, error: SplitlaneError) -> tuple[int, dict[str, object]]:
        return MESSAGES.render_error(error)

    def stream_encoder(self, request: ChatRequest) -> MessagesStreamEncoder:
        return MessagesStreamEncoder(request)

    def relay_encoder(self, request: ChatRequest) -> RelayEncoder:
        return RelayEncoder(self.stream_encoder(request))

    def wire_fold(self, streaming: bool) -> MessagesFold | None:
        return None if streaming else MessagesFold()

    def encode_response(self, request: ChatRequest, response: ChatResponse) -> dict[str, Any]:
        return encode_response(request, response)


async def create(request: Request, services: Services) -> Response | EventStream:
    raw = await read_json(request, services.config.max_body_bytes)
    canonical = decode_request(validate(MessagesBody, raw), client_headers(request), raw)
    return await answer(MessagesSurface(), services, canonical, caller(request.scope))


async def count_tokens(request: Request, services: Services) -> Response:
    raw = await read_json(request, services.config.max_body_bytes)
    canonical = decode_request(validate(CountTokensBody, raw), client_headers(request), raw)
    target = services.planner.plan(canonical, observe=False).targets[0]
    tokens = await target.replica.upstream.count_tokens(canonical.with_model(target.model))
    return Response(orjson.dumps({"input_tokens": tokens}), media_type="application/json")
