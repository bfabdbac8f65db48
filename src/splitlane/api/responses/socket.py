"""The Responses API over a WebSocket (``GET /v1/responses`` upgraded), as Codex talks to OpenAI
when its model provider has ``supports_websockets`` (handshake header ``OpenAI-Beta:
responses_websockets=…``; one socket per session, one turn at a time on it).

Each ``response.create`` frame is one turn: the frame less ``type`` is the body Codex would have
POSTed to ``/v1/responses``, and it runs as exactly that POST, with the handshake's headers (the
same key check and limits, routing, lanes, telemetry and upstream hop as HTTP). The turn's
server-sent events go back one per text frame, their JSON as it was; a refusal the HTTP path would
have answered with a status is an ``error`` frame carrying it (``{"type": "error", "status": 429,
"error": {...}, "headers": {...}}``, the shape Codex reads). What only the socket has:

- ``previous_response_id`` naming this socket's last response: Codex then sends only the items
  after it. The gateway keeps that response's conversation (its input and output) and expands the
  id into it, so the upstream, whatever its API, gets the whole conversation (the bytes Codex saves
  are between it and the gateway). An id the socket does not hold goes on to the HTTP path, which
  resolves stored responses (``store: true``) or answers 404.
- ``generate: false`` (the prewarm Codex sends as a session opens): answered at once with an empty
  completed response, nothing sent upstream; its input becomes the socket's last conversation.
- ``response.processed`` (Codex's acknowledgement of a response) is read and ignored.

With ``websockets = false`` the upgrade is refused with 426 Upgrade Required, the one answer on
which Codex falls back to HTTP at once; on a 404, a 405 or a close it tried six more handshakes
over ~6.7 s first (measured with Codex 0.169, docs/agents.md#codex-over-websocket).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from starlette.datastructures import Headers
from starlette.responses import Response
from starlette.types import Message, Receive, Scope, Send
from starlette.websockets import WebSocket, WebSocketDisconnect

from splitlane.api.guard import authorize
from splitlane.api.responses.decode import items_of
from splitlane.api.surfaces import RESPONSES
from splitlane.core.errors import InvalidRequest, SplitlaneError, UpgradeRequired
from splitlane.core.ids import new_id
from splitlane.upstream.sse import SSEDecoder

log = logging.getLogger("splitlane.socket")

TurnApp = Callable[[Scope, Receive, Send], Awaitable[None]]

# the handshake's own headers, which a turn run as a POST does not carry
HANDSHAKE_ONLY = frozenset(
    {
        b"connection",
        b"upgrade",
        b"sec-websocket-key",
        b"sec-websocket-version",
        b"sec-websocket-extensions",
        b"sec-websocket-protocol",
        b"content-length",
        b"content-type",
        b"content-encoding",
    }
)
SOCKET_ONLY = ("type", "generate")  # fields of a frame that are not fields of a POST body
IGNORED_FRAMES = frozenset({"response.processed"})
ERROR_HEADERS = frozenset({"retry-after", "x-splitlane-budget-remaining-usd"})


def error_frame(status: int, body: Any, headers: dict[str, str] | None = None) -> dict[str, Any]:
    error = body.get("error", body) if isinstance(body, dict) else {"message": str(body)}
    frame: dict[str, Any] = {"type": "error", "status": status, "error": error}
    if headers:
        frame["headers"] = headers
    return frame


class ResponsesSocket:
    """One client's socket: its turns in order, and the conversation of its last response."""

    def __init__(self, websocket: WebSocket, run_turn: TurnApp) -> None:
        self.websocket = websocket
        self.run_turn = run_turn
        self.headers = [(k, v) for k, v in websocket.scope["headers"] if k not in HANDSHAKE_ONLY]
        self.last_id: str | None = None
        self.conversation: list[Any] = []  # the last response's input and output items
        self.closed = asyncio.Event()

    async def serve(self) -> None:
        frames: asyncio.Queue[str | bytes | None] = asyncio.Queue()
        reader = asyncio.create_task(self._read(frames))
        try:
            while (frame := await frames.get()) is not None:
                await self._frame(frame)
        finally:
            reader.cancel()
            self.closed.set()

    async def _read(self, frames: asyncio.Queue[str | bytes | None]) -> None:
        try:
            while True:
                message = await self.websocket.receive()
                if message["type"] == "websocket.disconnect":
                    break
                frames.put_nowait(message.get("text") if message.get("text") is not None else message.get("bytes"))
        finally:
            self.closed.set()  # a turn in flight sees its client gone and closes its upstream
            frames.put_nowait(None)

    async def _frame(self, raw: str | bytes | None) -> None:
        if not isinstance(raw, str):
            await self._send_error(InvalidRequest("binary frames are not part of the Responses WebSocket API"))
            return
        try:
            frame = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            await self._send_error(InvalidRequest(f"a frame that is not JSON: {exc}"))
            return
        kind = frame.get("type") if isinstance(frame, dict) else None
        if kind in IGNORED_FRAMES:
            return
        if kind != "response.create":
            await self._send_error(
                InvalidRequest(f"unsupported frame type {kind!r}: expected 'response.create'", param="type")
            )
            return
        body = {k: v for k, v in frame.items() if k not in SOCKET_ONLY}
        body["stream"] = True
        previous = body.get("previous_response_id")
        if previous is not None and previous == self.last_id:
            del body["previous_response_id"]
            body["input"] = [*self.conversation, *items_of(body.get("input"))]
        if frame.get("generate") is False:
            await self._prewarm(body)
        else:
            await self._turn(body)

    async def _prewarm(self, body: dict[str, Any]) -> None:
        response_id = new_id("resp")
        response: dict[str, Any] = {
            "id": response_id,
            "object": "response",
            "status": "completed",
            "model": body.get("model"),
            "output": [],
            "usage": {
                "input_tokens": 0,
                "input_tokens_details": {"cached_tokens": 0},
                "output_tokens": 0,
                "output_tokens_details": {"reasoning_tokens": 0},
                "total_tokens": 0,
            },
        }
        created = {**response, "status": "in_progress"}
        await self._send({"type": "response.created", "sequence_number": 0, "response": created})
        await self._send({"type": "response.completed", "sequence_number": 1, "response": response})
        self.last_id, self.conversation = response_id, items_of(body.get("input"))

    async def _turn(self, body: dict[str, Any]) -> None:
        payload = orjson.dumps(body)
        sink = _FrameSink(self)
        await self.run_turn(self._scope(len(payload)), self._receive(payload), sink)
        await sink.close()
        if sink.response_id is not None:
            self.last_id = sink.response_id
            self.conversation = [*items_of(body.get("input")), *sink.output]
        else:  # failed or cut short: Codex sends the whole conversation next (no previous_response_id)
            self.last_id, self.conversation = None, []

    def _scope(self, length: int) -> Scope:
        ws = self.websocket.scope
        headers = [
            *self.headers,
            (b"content-type", b"application/json"),
            (b"content-length", str(length).encode()),
        ]
        return {
            "type": "http",
            "asgi": ws.get("asgi", {"version": "3.0"}),
            "http_version": ws.get("http_version", "1.1"),
            "method": "POST",
            "scheme": "https" if ws.get("scheme") == "wss" else "http",
            "path": RESPONSES.path,
            "raw_path": RESPONSES.path.encode(),
            "root_path": ws.get("root_path", ""),
            "query_string": b"",
            "headers": headers,
            "client": ws.get("client"),
            "server": ws.get("server"),
            "app": ws.get("app"),
            "state": {},
        }

    def _receive(self, payload: bytes) -> Receive:
        sent = False

        async def receive() -> Message:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": payload, "more_body": False}
            await self.closed.wait()
            return {"type": "http.disconnect"}

        return receive

    async def _send_error(self, error: SplitlaneError) -> None:
        status, body = RESPONSES.render_error(error)
        await self._send(error_frame(status, body))

    async def _send(self, frame: dict[str, Any]) -> None:
        await self.send_text(orjson.dumps(frame).decode())

    async def send_text(self, text: str) -> None:
        if self.closed.is_set():
            return
        try:
            await self.websocket.send_text(text)
        except (WebSocketDisconnect, RuntimeError, OSError):
            self.closed.set()


class _FrameSink:
    """The ``send`` of a turn run as a POST: its SSE events out as text frames, an HTTP refusal
    as an error frame; it notes the response's id and output items as they pass."""

    def __init__(self, socket: ResponsesSocket) -> None:
        self.socket = socket
        self.status = 0
        self.streaming = False
        self.headers: dict[str, str] = {}
        self.body = bytearray()
        self.decoder = SSEDecoder()
        self.output: list[Any] = []
        self.response_id: str | None = None

    async def __call__(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.status = message["status"]
            self.headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in message.get("headers", [])}
            self.streaming = self.status == 200 and self.headers.get("content-type", "").startswith("text/event-stream")
        elif message["type"] == "http.response.body":
            chunk = message.get("body", b"")
            if not self.streaming:
                self.body += chunk
                return
            for event in self.decoder.feed(chunk):
                if event.data and event.data != "[DONE]":
                    self._note(event.data)
                    await self.socket.send_text(event.data)

    def _note(self, data: str) -> None:
        if "response.output_item.done" not in data and "response.completed" not in data:
            return
        try:
            event = orjson.loads(data)
        except orjson.JSONDecodeError:
            return
        if event.get("type") == "response.output_item.done":
            self.output.append(event.get("item"))
        elif event.get("type") == "response.completed":
            self.response_id = (event.get("response") or {}).get("id")

    async def close(self) -> None:
        """A response that was not a stream: a refusal (or a whole response) as frames."""
        if self.streaming or not self.status:
            return
        try:
            body = orjson.loads(self.body)
        except orjson.JSONDecodeError:
            body = {"message": self.body.decode("utf-8", "replace")}
        if self.status == 200 and isinstance(body, dict) and body.get("object") == "response":
            self.response_id = body.get("id")
            self.output = list(body.get("output") or [])
            await self.socket.send_text(orjson.dumps({"type": "response.completed", "response": body}).decode())
            return
        kept = {k: v for k, v in self.headers.items() if k in ERROR_HEADERS}
        await self.socket.send_text(orjson.dumps(error_frame(self.status, body, kept)).decode())


async def responses_socket(websocket: WebSocket, run_turn: TurnApp) -> None:
    """``GET /v1/responses`` with an upgrade: refused (426 where off, 401/403 for a bad key, in
    OpenAI's error format) or accepted and served until the client closes it."""
    services = websocket.app.state.services
    try:
        if not services.config.websockets:
            raise UpgradeRequired(
                "this gateway serves the Responses API over HTTP only (websockets = false): POST /v1/responses"
            )
        if services.keys.required:
            await authorize(services.keys, Headers(scope=websocket.scope), RESPONSES.path)
    except SplitlaneError as exc:
        status, body = RESPONSES.render_error(exc)
        await websocket.send_denial_response(Response(orjson.dumps(body), status, media_type="application/json"))
        return
    await websocket.accept()
    await ResponsesSocket(websocket, run_turn).serve()
