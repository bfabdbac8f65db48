"""The ASGI app: routes, one error boundary per surface, services built at start."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from prometheus_client import CONTENT_TYPE_LATEST
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp

from splitlane.api.chat import routes as chat
from splitlane.api.error_response import Renderer, error_response
from splitlane.api.guard import Guard
from splitlane.api.messages import routes as messages
from splitlane.api.messages.encode import render_error as render_anthropic_error
from splitlane.api.models import list_models
from splitlane.api.openai_errors import render_openai_error
from splitlane.api.responses import routes as responses
from splitlane.api.services import Services
from splitlane.api.turn import internal
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
    renderer = render_anthropic_error if "anthropic-version" in request.headers else render_openai_error
    return error_response(renderer, NotFound(f"no route for {request.method} {request.url.path}"))


def create_app(config: Config, services: Services | None = None) -> Starlette:
    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        app.state.services = services or await Services.start(config)
        try:
            yield
        finally:
            await app.state.services.aclose()

    openai, anthropic = render_openai_error, render_anthropic_error
    routes = [
        Route("/v1/responses", endpoint(responses.create, openai), methods=["POST"]),
        Route("/v1/responses/{response_id}", endpoint(responses.retrieve, openai), methods=["GET"]),
        Route("/v1/chat/completions", endpoint(chat.create, openai), methods=["POST"]),
        Route("/v1/messages", endpoint(messages.create, anthropic), methods=["POST"]),
        Route("/v1/messages/count_tokens", endpoint(messages.count_tokens, anthropic), methods=["POST"]),
        Route("/v1/models", endpoint(list_models, openai), methods=["GET"]),
        Route("/health", endpoint(health, openai), methods=["GET"]),
        Route("/metrics", endpoint(metrics, openai), methods=["GET"]),
        *dashboard_routes(lambda request: request.app.state.services.telemetry),
    ]
    return Starlette(
        routes=routes,
        lifespan=lifespan,
        middleware=[Middleware(Guard)],
        exception_handlers={404: not_found, 405: not_found},
    )
