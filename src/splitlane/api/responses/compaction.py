"""Codex's remote compaction, for every upstream (docs/agents.md#remote-compaction).

Codex compacts a long conversation through the server when its provider is OpenAI's (which a
user gets by pointing Codex's own provider at the gateway, ``openai_base_url``): with
``remote_compaction_v2`` it sends a normal ``/v1/responses`` request whose input ends with a
``{"type": "compaction_trigger"}`` item and accepts exactly one ``compaction`` output item;
older releases ``POST /v1/responses/compact`` and take its ``output`` as the new history. Either
way it then sends that opaque item back at the head of every later request.

An OpenAI Responses upstream does this itself (the trigger and the endpoint are passed to it).
For any other upstream the gateway does it: the conversation, less its tools, plus ``PROMPT``
goes to the alias's background lane (the prompt is a summary request, which routing sends
there); the reply is sealed into a ``compaction`` item of the gateway's own (``slcmp1.`` and the
summary, base64), and on later requests that item becomes a user message, ``HANDOFF`` and the
summary, before anything else reads the input.
"""

from __future__ import annotations

import base64
import time
from collections.abc import AsyncIterator
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import orjson
from starlette.responses import JSONResponse, Response, StreamingResponse

from splitlane.api.answer import answer
from splitlane.api.responses.encode import ResponseContext, final_response
from splitlane.api.sse import sse
from splitlane.auth.keys import ApiKey
from splitlane.core.errors import UpstreamProtocolError
from splitlane.core.events import Finish
from splitlane.core.ids import new_id
from splitlane.core.parts import Message, Role, TextPart
from splitlane.core.request import ChatRequest, ToolChoice
from splitlane.core.response import ChatResponse

if TYPE_CHECKING:
    from splitlane.api.services import Services
    from splitlane.api.turn import Surface

TRIGGER = "compaction_trigger"
SEALED = "slcmp1."
PROMPT = (
    "Summarize this conversation for another model that will continue the work from the summary "
    "alone. Keep: the user's goal and every instruction or constraint they gave; decisions made and "
    "why; files, commands and identifiers that matter, with their exact names; what was done, what "
    "failed and what is left to do next. Be concise and factual; no preamble."
)
HANDOFF = "The conversation so far, compacted into a summary (by splitlane, on Codex's request):\n\n"
SUMMARY_TOKENS = 4096


def has_trigger(items: list[Any]) -> bool:
    return bool(items) and isinstance(items[-1], dict) and items[-1].get("type") == TRIGGER


def sealed(summary: str) -> dict[str, Any]:
    packed = base64.urlsafe_b64encode(orjson.dumps({"summary": summary})).decode("ascii")
    return {"type": "compaction", "id": new_id("cmp"), "encrypted_content": SEALED + packed}


def _opened(item: Any) -> str | None:
    if not isinstance(item, dict) or item.get("type") != "compaction":
        return None
    content = item.get("encrypted_content")
    if not isinstance(content, str) or not content.startswith(SEALED):
        return None  # an OpenAI upstream's own: only it can read it
    try:
        summary = orjson.loads(base64.urlsafe_b64decode(content[len(SEALED) :]))["summary"]
    except (ValueError, KeyError, TypeError):
        return None
    return summary if isinstance(summary, str) else None


def expand(items: list[Any]) -> list[Any]:
    """The input with the gateway's compaction items as the summary they hold."""
    if not any(isinstance(i, dict) and i.get("type") == "compaction" for i in items):
        return items
    out: list[Any] = []
    for item in items:
        summary = _opened(item)
        if summary is None:
            out.append(item)
        else:
            text = HANDOFF + summary
            out.append({"type": "message", "role": "user", "content": [{"type": "input_text", "text": text}]})
    return out


def summary_request(request: ChatRequest) -> ChatRequest:
    """The conversation as a summary request: no tools, the prompt last, folded whole."""
    messages = tuple(m for m in request.messages if m.parts)
    return replace(
        request,
        messages=(*messages, Message(Role.USER, (TextPart(PROMPT),))),
        tools=(),
        server_tools=(),
        tool_choice=ToolChoice(),
        stream=False,
        wire=None,
        max_output_tokens=SUMMARY_TOKENS,
    )


async def summarize(
    surface: Surface, services: Services, request: ChatRequest, api_key: ApiKey | None
) -> tuple[str, ChatResponse]:
    """Run the summary turn (telemetry, limits and routing as any turn); its text and response."""
    done: list[ChatResponse] = []

    async def keep(response: ChatResponse) -> None:
        done.append(response)

    await answer(surface, services, summary_request(request), api_key, keep)
    if not done or not done[0].text.strip():
        raise UpstreamProtocolError("the compaction summary came back empty")
    return done[0].text.strip(), done[0]


def compaction_response(ctx: ResponseContext, response: ChatResponse, summary: str) -> dict[str, Any]:
    """The Response object of a ``compaction_trigger`` turn: one compaction item as its output."""
    finish = Finish(response.stop_reason, response.usage, response.stop_sequence)
    return final_response(ctx, [sealed(summary)], finish)


def answered(document: dict[str, Any], stream: bool) -> Response:
    """The Response object as the client asked for it: whole, or as the events of its stream."""
    if not stream:
        return JSONResponse(document)
    return StreamingResponse(_events(document), media_type="text/event-stream")


async def _events(document: dict[str, Any]) -> AsyncIterator[bytes]:
    started = {**document, "status": "in_progress", "output": [], "usage": None}
    frames: list[dict[str, Any]] = [{"type": "response.created", "response": started}]
    for index, item in enumerate(document["output"]):
        frames.append({"type": "response.output_item.added", "output_index": index, "item": item})
        frames.append({"type": "response.output_item.done", "output_index": index, "item": item})
    frames.append({"type": "response.completed", "response": document})
    for number, frame in enumerate(frames):
        yield sse({**frame, "sequence_number": number}, str(frame["type"]))


def compact_document(summary: str, response: ChatResponse) -> dict[str, Any]:
    """``POST /v1/responses/compact``'s answer: the new history is the compaction item alone."""
    usage = response.usage
    return {
        "id": new_id("resp"),
        "object": "response.compaction",
        "created_at": int(time.time()),
        "output": [sealed(summary)],
        "usage": {
            "input_tokens": usage.input_tokens,
            "output_tokens": usage.output_tokens,
            "total_tokens": usage.input_tokens + usage.output_tokens,
        },
    }
