"""POST /v1/chat/completions."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from splitlane.api.body import client_headers, read_json, validate
from splitlane.api.chat.decode import decode_request, include_usage
from splitlane.api.chat.encode import ChatStreamEncoder, encode_response
from splitlane.api.chat.schema import ChatBody
from splitlane.api.event_stream import EventStream
from splitlane.api.guard import caller
from splitlane.api.openai_errors import render_openai_error
from splitlane.api.services import Services
from splitlane.api.sse import COMMENT_KEEPALIVE
from splitlane.api.turn import run_turn
from splitlane.core.errors import SplitlaneError
from splitlane.core.request import ChatRequest
from splitlane.core.response import ChatResponse


class ChatSurface:
    name = "chat"
    keepalive = COMMENT_KEEPALIVE

    def render_error(self, error: SplitlaneError) -> tuple[int, dict[str, object]]:
        return render_openai_error(error)

    def stream_encoder(self, request: ChatRequest) -> ChatStreamEncoder:
        return ChatStreamEncoder(request, include_usage(request))

    def encode_response(self, request: ChatRequest, response: ChatResponse) -> dict[str, Any]:
        return encode_response(request, response)


async def create(request: Request, services: Services) -> Response | EventStream:
    body = validate(ChatBody, await read_json(request, services.config.max_body_bytes))
    canonical = decode_request(body, client_headers(request))
    return await run_turn(ChatSurface(), services, canonical, caller(request.scope))
