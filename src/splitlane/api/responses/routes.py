"""POST /v1/responses and GET /v1/responses/{id}."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response

from splitlane.api.answer import answer
from splitlane.api.body import client_headers, read_json, validate
from splitlane.api.event_stream import EventStream
from splitlane.api.guard import caller, caller_id
from splitlane.api.openai_errors import TYPES
from splitlane.api.relay import RelayEncoder
from splitlane.api.responses import compaction
from splitlane.api.responses.decode import decode_request, input_items
from splitlane.api.responses.encode import ResponseContext, ResponsesStreamEncoder, encode_response
from splitlane.api.responses.fold import ResponsesFold, restore
from splitlane.api.responses.schema import ResponsesBody
from splitlane.api.services import Services
from splitlane.api.sse import sse
from splitlane.api.surfaces import RESPONSES
from splitlane.core.errors import NotFound, SplitlaneError
from splitlane.core.events import Event, Finish, Relay
from splitlane.core.request import ChatRequest
from splitlane.core.response import ChatResponse
from splitlane.upstream.openai_responses.adapter import OpenAIResponsesUpstream


class ResponsesSurface:
    name = RESPONSES.name
    keepalive = RESPONSES.keepalive

    def __init__(self, ctx: ResponseContext, keeps: bool = False) -> None:
        self.ctx = ctx
        self.keeps = keeps  # the gateway stores the response object (store: true)

    def render_error(self, error: SplitlaneError) -> tuple[int, dict[str, object]]:
        return RESPONSES.render_error(error)

    def stream_encoder(self, request: ChatRequest) -> ResponsesStreamEncoder:
        return ResponsesStreamEncoder(self.ctx)

    def relay_encoder(self, request: ChatRequest) -> ResponsesRelayEncoder:
        return ResponsesRelayEncoder(self.stream_encoder(request), self.restored())

    def wire_fold(self, streaming: bool) -> ResponsesFold | None:
        return ResponsesFold(self.restored()) if self.keeps or not streaming else None

    def restored(self) -> dict[str, Any]:
        """What a relayed Response object says of the gateway's own edits, put back as the client
        asked: the upstream got the history instead of previous_response_id, and store false."""
        return {k: self.ctx.echo[k] for k in ("previous_response_id", "store")}

    def encode_response(self, request: ChatRequest, response: ChatResponse) -> dict[str, Any]:
        return encode_response(self.ctx, response.parts, _finish(response))


class ResponsesRelayEncoder(RelayEncoder):
    """Relays the upstream's events; a failure after them continues its sequence numbers and ends
    its response (``response.failed`` with the upstream's own response id)."""

    def __init__(self, errors: ResponsesStreamEncoder, restored: dict[str, Any]) -> None:
        super().__init__(errors)
        self.restored = restored
        self.sequence = -1
        self.response: dict[str, Any] | None = None

    def feed(self, event: Event) -> list[bytes]:
        if not isinstance(event, Relay) or not isinstance(event.data, dict):
            return super().feed(event)
        data = event.data
        if isinstance(data.get("sequence_number"), int):
            self.sequence = data["sequence_number"]
        response = data.get("response")
        if not isinstance(response, dict):
            return [event.frame]
        self.response = restore(response, self.restored)
        if self.response is response:
            return [event.frame]
        name = str(data.get("type")) if event.frame.startswith(b"event:") else None
        return [sse({**data, "response": self.response}, name)]

    def fail(self, error: SplitlaneError) -> list[bytes]:
        if self.response is None:
            return self.errors.fail(error)
        failed = {
            **self.response,
            "status": "failed",
            "error": {"code": error.code or TYPES[error.kind], "message": error.message},
        }
        self.sequence += 1
        return [
            sse({"type": "response.failed", "sequence_number": self.sequence, "response": failed}, "response.failed")
        ]


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
    raw = await read_json(request, services.config.max_body_bytes)
    body = validate(ResponsesBody, raw)
    ctx = ResponseContext(model=body.model, echo=_echo(body))
    surface = ResponsesSurface(ctx, keeps=body.store)
    history = input_items(body)
    owner = caller_id(request.scope)
    if body.previous_response_id:
        previous = await services.responses.get(body.previous_response_id, owner)
        if previous is None:
            raise NotFound(f"previous response '{body.previous_response_id}' not found", param="previous_response_id")
        history = previous.conversation + history
    history = compaction.expand(history)  # the gateway's own compaction items: their summaries
    # the conversation as a Responses upstream gets it: the gateway resolved previous_response_id
    wire = {k: v for k, v in raw.items() if k != "previous_response_id"} | {"input": history}
    canonical = decode_request(body, history, client_headers(request), wire)
    ctx.custom_tools = tuple(canonical.extensions.get("custom_tools", ()))
    ctx.namespaced = dict(canonical.extensions.get("namespaced_tools", {}))
    if compaction.has_trigger(history) and _compacting(services, canonical) is None:
        summary, response = await compaction.summarize(surface, services, canonical, caller(request.scope))
        return compaction.answered(compaction.compaction_response(ctx, response, summary), body.stream)

    async def store(response: ChatResponse) -> None:
        if body.store:
            stored = (
                dict(response.wire)
                if response.wire is not None
                else encode_response(ctx, response.parts, _finish(response))
            )
            await services.responses.put(stored, history + list(stored.get("output") or []), owner)

    return await answer(surface, services, canonical, caller(request.scope), store)


def _compacting(services: Services, request: ChatRequest) -> tuple[OpenAIResponsesUpstream, str] | None:
    """The upstream (and its model) that would answer this request, when it runs Codex's
    compaction itself (an OpenAI Responses upstream); None when the gateway must."""
    target = services.planner.plan(request, observe=False).targets[0]
    upstream = target.replica.upstream
    return (upstream, target.model) if isinstance(upstream, OpenAIResponsesUpstream) else None


async def compact(request: Request, services: Services) -> Response:
    """POST /v1/responses/compact: passed to an OpenAI Responses upstream, done by the gateway
    for any other (api/responses/compaction.py)."""
    raw = await read_json(request, services.config.max_body_bytes)
    body = validate(ResponsesBody, raw)
    history = compaction.expand(input_items(body))
    canonical = decode_request(body, history, client_headers(request), {**raw, "input": history})
    itself = _compacting(services, canonical)
    if itself is not None:
        upstream, model = itself
        return Response(
            orjson.dumps(await upstream.compact(canonical.with_model(model))), media_type="application/json"
        )
    ctx = ResponseContext(model=body.model, echo=_echo(body))
    summary, response = await compaction.summarize(ResponsesSurface(ctx), services, canonical, caller(request.scope))
    return Response(orjson.dumps(compaction.compact_document(summary, response)), media_type="application/json")


async def retrieve(request: Request, services: Services) -> Response:
    response_id = request.path_params["response_id"]
    stored = await services.responses.get(response_id, caller_id(request.scope))
    if stored is None:
        raise NotFound(f"response '{response_id}' not found", param="response_id")
    return Response(orjson.dumps(stored.response), media_type="application/json")
