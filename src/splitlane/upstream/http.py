"""HTTP transport shared by the upstream kinds: pooled httpx clients, SSE, error translation.

Lower-level exceptions (httpx, bad statuses) are translated into ``core.errors`` at one boundary,
``translate_errors``, and re-raised ``from`` the original.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator, Mapping
from contextlib import asynccontextmanager, contextmanager
from typing import Any

import httpx
import orjson
from httpx_sse import EventSource, ServerSentEvent, SSEError

from splitlane.config import UpstreamConfig
from splitlane.core.errors import (
    ContextTooLong,
    InvalidRequest,
    Overloaded,
    RateLimited,
    RequestTooLarge,
    SplitlaneError,
    UpstreamError,
    UpstreamProtocolError,
    UpstreamTimeout,
    UpstreamUnavailable,
)

_CONTEXT_MARKERS = ("context_length", "context length", "context window", "too many tokens", "prompt is too long")


def make_client(config: UpstreamConfig) -> httpx.AsyncClient:
    timeout = httpx.Timeout(connect=config.connect_timeout_s, read=config.idle_timeout_s, write=60.0, pool=60.0)
    limits = httpx.Limits(max_connections=config.max_connections, max_keepalive_connections=64)
    return httpx.AsyncClient(base_url=(config.base_url or "").rstrip("/"), timeout=timeout, limits=limits)


@contextmanager
def translate_errors(upstream: str) -> Iterator[None]:
    try:
        yield
    except SplitlaneError:
        raise
    except httpx.TimeoutException as exc:
        raise UpstreamTimeout(f"upstream '{upstream}' timed out ({type(exc).__name__})") from exc
    except (httpx.ConnectError, httpx.UnsupportedProtocol) as exc:
        raise UpstreamUnavailable(f"cannot connect to upstream '{upstream}': {exc}") from exc
    except (httpx.TransportError, SSEError) as exc:
        raise UpstreamProtocolError(f"upstream '{upstream}' connection failed: {exc or type(exc).__name__}") from exc


def error_from_status(upstream: str, status: int, body: bytes, headers: Mapping[str, str]) -> SplitlaneError:
    """Map an upstream's non-2xx answer to our hierarchy, keeping its message."""
    message = _error_message(body) or f"HTTP {status}"
    said = f"upstream '{upstream}' answered {status}: {message}"
    if status == 429:
        return RateLimited(said, retry_after_s=_retry_after(headers))
    if status in (400, 422):
        lowered = message.lower()
        if any(marker in lowered for marker in _CONTEXT_MARKERS):
            return ContextTooLong(said)
        return InvalidRequest(said)
    if status == 413:
        return RequestTooLarge(said)
    if status in (408, 504):
        return UpstreamTimeout(said)
    if status in (503, 529):
        return Overloaded(said)
    return UpstreamError(said)


def _error_message(body: bytes) -> str:
    try:
        data: Any = orjson.loads(body)
    except orjson.JSONDecodeError:
        return body.decode("utf-8", "replace").strip()[:500]
    error = data.get("error") if isinstance(data, dict) else None
    if isinstance(error, dict):
        return str(error.get("message") or error)
    if isinstance(error, str):
        return error
    return str(data)[:500]


def _retry_after(headers: Mapping[str, str]) -> float | None:
    value = headers.get("retry-after")
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


@asynccontextmanager
async def post_sse(
    client: httpx.AsyncClient, upstream: str, path: str, body: Mapping[str, Any], headers: Mapping[str, str]
) -> AsyncIterator[AsyncIterator[ServerSentEvent]]:
    """POST ``body`` and yield its server-sent events; errors come out translated."""
    with translate_errors(upstream):
        request = client.build_request(
            "POST",
            path,
            content=orjson.dumps(body),
            headers={**headers, "accept": "text/event-stream", "content-type": "application/json"},
        )
        response = await client.send(request, stream=True)
        try:
            if response.status_code >= 400:
                raw = await response.aread()
                raise error_from_status(upstream, response.status_code, raw, response.headers)
            yield _events(EventSource(response).aiter_sse(), upstream)
        finally:
            await response.aclose()


async def _events(source: AsyncIterator[ServerSentEvent], upstream: str) -> AsyncIterator[ServerSentEvent]:
    with translate_errors(upstream):
        async for event in source:
            yield event


async def post_json(
    client: httpx.AsyncClient, upstream: str, path: str, body: Mapping[str, Any], headers: Mapping[str, str]
) -> Any:
    with translate_errors(upstream):
        response = await client.post(
            path, content=orjson.dumps(body), headers={**headers, "content-type": "application/json"}
        )
        if response.status_code >= 400:
            raise error_from_status(upstream, response.status_code, response.content, response.headers)
        return parse_json(response.content, upstream)


def parse_json(data: str | bytes, upstream: str) -> Any:
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise UpstreamProtocolError(f"upstream '{upstream}' sent invalid JSON: {str(data)[:200]!r}") from exc
