"""POST /v1/responses and GET /v1/responses/{id}."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response

from splitlane.api.body import client_headers, read_json, validate
from splitlane.api.event_stream import EventStream
from splitlane.api.guard import caller, caller_id
from splitlane.api.openai_errors import render_openai_error
from splitlane.api.responses.decode import decode_request, input_items
from splitlane.api.responses.encode import ResponseContext, ResponsesStreamEncoder, encode_response
from splitlane.api.responses.schema import ResponsesBody
from splitlane.api.services import Services
from splitlane.api.sse import COMMENT_KEEPALIVE
from splitlane.api.turn import run_turn
from splitlane.core.errors import NotFound, SplitlaneError
from splitlane.core.events import Finish
from splitlane.core.request import ChatRequest
from splitlane.core.response import ChatResponse


class ResponsesSurface:
    name = "responses"
    keepalive = COMMENT_KEEPALIVE

    def __init__(self, ctx: ResponseContext) -> None:
        self.ctx = ctx

    def render_error(self, error: SplitlaneError) -> tuple[int, dict[str, object]]:
        return render_openai_error(error)

    def stream_encoder(self, request: ChatRequest) -> ResponsesStreamEncoder:
        return ResponsesStreamEncoder(self.ctx)

    def encode_response(self, request: ChatRequest, response: ChatResponse) -> dict[str, Any]:
        return encode_response(self.ctx, response.parts, _finish(response))


def _finish(response: ChatResponse) -> Finish:
    return Finish(response.stop_reason, response.usage, response.stop_sequence)


def _echo(body: ResponsesBody) -> dict[str, Any]:
    return {
        "instructions": body.instructions,
        "max_output_tokens": body.max_output_tokens,
        "parallel_tool_calls": body.parallel_tool_calls if body.parallel_tool_calls is not None else True,
        "previous_response_id": body.previous_response_id,
        "reasoning": {"effort": None, "summary": None, **(body.reasoning or {})},
        "store": body.store,
        "temperature": body.temperature if body.temperature is not None else 1.0,
        "text": (body.model_extra or {}).get("text") or {"format": {"type": "text"}},
        "tool_choice": body.tool_choice or "auto",
        "tools": body.tools or [],
        "top_p": body.top_p if body.top_p is not None else 1.0,
        "truncation": "disabled",
        "metadata": body.metadata or {},
        "user": None,
        "background": False,
    }


async def create(request: Request, services: Services) -> Response | EventStream:
    body = validate(ResponsesBody, await read_json(request, services.config.max_body_bytes))
    ctx = ResponseContext(model=body.model, echo=_echo(body))
    surface = ResponsesSurface(ctx)
    history = input_items(body)
    owner = caller_id(request.scope)
    if body.previous_response_id:
        previous = await services.responses.get(body.previous_response_id, owner)
        if previous is None:
            raise NotFound(f"previous response '{body.previous_response_id}' not found", param="previous_response_id")
        history = previous.conversation + history
    canonical = decode_request(body, history, client_headers(request))
    ctx.custom_tools = tuple(canonical.extensions.get("custom_tools", ()))

    async def store(response: ChatResponse) -> None:
        if body.store:
            stored = encode_response(ctx, response.parts, _finish(response))
            await services.responses.put(stored, history + stored["output"], owner)

    return await run_turn(surface, services, canonical, caller(request.scope), store)


async def retrieve(request: Request, services: Services) -> Response:
    response_id = request.path_params["response_id"]
    stored = await services.responses.get(response_id, caller_id(request.scope))
    if stored is None:
        raise NotFound(f"response '{response_id}' not found", param="response_id")
    return Response(orjson.dumps(stored.response), media_type="application/json")
