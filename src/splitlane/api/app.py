"""The ASGI app: routes, one error boundary per surface, services built at start.

The three turn routes (POST ``/v1/responses``, ``/v1/chat/completions``, ``/v1/messages``) are
dispatched before Starlette's middleware stack and router: each of a stream's chunks would
otherwise pass two exception-handling ``send`` wrappers and the router would match every route
per request (~5 % of the gateway's CPU on a paced stream, ``splitlane bench overhead``). They
still pass the ``Guard``; their handlers map every error themselves (``endpoint``).
"""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.types import ASGIApp, Receive, Scope, Send
from starlette.websockets import WebSocket

from splitlane.api.chat import routes as chat
from splitlane.api.error_response import Renderer, error_response, internal
from splitlane.api.guard import Guard
from splitlane.api.messages import routes as messages
from splitlane.api.models import list_models
from splitlane.api.responses import routes as responses
from splitlane.api.responses.socket import responses_socket
from splitlane.api.services import Services
from splitlane.api.surfaces import CHAT, MESSAGES, RESPONSES, SURFACES, for_request
from splitlane.config import Config
from splitlane.core.errors import NotFound
from splitlane.web.dashboard import dashboard_routes

Handler = Callable[[Request, Services], Awaitable[ASGIApp]]


def endpoint(handler: Handler, renderer: Renderer) -> Callable[[Request], Awaitable[ASGIApp]]:
    async def handle(request: Request) -> ASGIApp:
        try:
            return await handler(request, request.app.state.services)
        except Exception as exc:
            return error_response(renderer, internal(exc))

    return handle


async def health(request: Request, services: Services) -> Response:
    if services.keys.required:  # open to probes: says nothing else
        return JSONResponse({"status": "ok"})
    return JSONResponse({"status": "ok", "models": services.planner.aliases()})


async def metrics(request: Request, services: Services) -> Response:
    return Response(services.telemetry.metrics.render(), media_type=CONTENT_TYPE_LATEST)


async def not_found(request: Request, exc: Exception) -> Response:
    spec = for_request("", request.headers)  # a path that is none of ours: the client's own format
    return error_response(spec.render_error, NotFound(f"no route for {request.method} {request.url.path}"))


class Gateway(Starlette):
    """Starlette, with the turn routes taken before its middleware stack (see the module's doc)."""

    def __init__(self, turns: dict[str, Callable[[Request], Awaitable[ASGIApp]]], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._turns = turns
        self.guarded_turn = Guard(self._turn, frozenset(turns))  # a turn POST, from the guard on

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        # a path under a root_path (behind a proxy) includes it: such requests take the router
        if scope["type"] == "http" and scope["method"] == "POST" and scope["path"] in self._turns:
            scope["app"] = self
            await self.guarded_turn(scope, receive, send)
            return
        await super().__call__(scope, receive, send)

    async def _turn(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = await self._turns[scope["path"]](Request(scope, receive))
        await response(scope, receive, send)


async def socket(websocket: WebSocket) -> None:
    gateway: Gateway = websocket.scope["app"]
    await responses_socket(websocket, gateway.guarded_turn)


def create_app(config: Config, services: Services | None = None, *, settle_heap: bool = False) -> Starlette:
    """``settle_heap`` (the server's own process only): once started, move every object alive into
    the collector's permanent generation. A full collection then scans only what turns created
    since: on the bench's gateway it had taken 20-100 ms of a loaded loop every few seconds."""

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        app.state.services = services or await Services.start(config)
        if settle_heap:
            gc.collect()
            gc.freeze()
        try:
            yield
        finally:
            await app.state.services.aclose()

    handlers: dict[str, Handler] = {
        RESPONSES.name: responses.create,
        CHAT.name: chat.create,
        MESSAGES.name: messages.create,
    }
    turns = {spec.path: endpoint(handlers[name], spec.render_error) for name, spec in SURFACES.items()}
    openai, anthropic = CHAT.render_error, MESSAGES.render_error
    routes = [
        *(Route(path, handle, methods=["POST"]) for path, handle in turns.items()),
        WebSocketRoute(RESPONSES.path, socket),  # Codex's Responses WebSocket (api/responses/socket.py)
        Route("/v1/responses/compact", endpoint(responses.compact, openai), methods=["POST"]),
        Route("/v1/responses/{response_id}", endpoint(responses.retrieve, openai), methods=["GET"]),
        Route("/v1/messages/count_tokens", endpoint(messages.count_tokens, anthropic), methods=["POST"]),
        Route("/v1/models", endpoint(list_models, openai), methods=["GET"]),
        Route("/health", endpoint(health, openai), methods=["GET"]),
        Route("/metrics", endpoint(metrics, openai), methods=["GET"]),
        *dashboard_routes(lambda request: request.app.state.services.telemetry),
    ]
    return Gateway(
        turns,
        routes=routes,
        lifespan=lifespan,
        middleware=[Middleware(Guard, turns=frozenset(turns))],
        exception_handlers={404: not_found, 405: not_found},
    )
