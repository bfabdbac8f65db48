"""HTTP transport shared by the upstream kinds: pooled connections, SSE, error translation.

The client is our own small HTTP/1.1 one (``upstream/pool.py`` and ``connection.py``, httptools'
parser); the measurements that chose it are in docs/performance.md.

Lower-level failures (connection, parsing, timeouts) are translated into ``core.errors`` at one
boundary, ``translate_errors``, and re-raised ``from`` the original.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator, Mapping
from contextlib import asynccontextmanager, contextmanager, suppress
from typing import Any

import orjson

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
from splitlane.upstream.connection import BadHeader, ConnectFailed, HttpError, Response
from splitlane.upstream.pool import Pool
from splitlane.upstream.sse import ServerSentEvent, SSEDecoder

DRAIN_S = 1.0
KEEPALIVE_S = 60.0
READ_BACKSTOP_S = 1.0
_CONTEXT_MARKERS = ("context_length", "context length", "context window", "too many tokens", "prompt is too long")


class HttpClient:
    """One upstream's connection pool (opened on first use, in the running loop) with its base URL
    and timeouts: ``idle_timeout_s`` (+1 s) bounds the silence between two reads, except on
    streams whose reader keeps its own idle clock (``paced``, api/pacing.py)."""

    def __init__(self, config: UpstreamConfig, base_url: str | None = None) -> None:
        self.base_url = (base_url if base_url is not None else config.base_url or "").rstrip("/")
        self.connect_timeout_s = config.connect_timeout_s
        # a backstop: the turn's own clock (api/pacing.py) ends a silent stream first, with a clearer error
        self.read_timeout_s = config.idle_timeout_s + READ_BACKSTOP_S
        self.limit = config.max_connections
        self._pool: Pool | None = None

    def pool(self) -> Pool:
        if self._pool is None:
            try:
                self._pool = Pool(self.base_url, self.limit, self.connect_timeout_s, KEEPALIVE_S)
            except ValueError as exc:
                raise ConnectFailed(f"invalid base_url: {exc}") from exc
        return self._pool

    def connections_in_use(self) -> int:
        """Connections lent out of the pool now (requests in progress); a leak shows up here."""
        return self._pool.in_use if self._pool is not None else 0

    async def aclose(self) -> None:
        if self._pool is not None:
            await self._pool.aclose()
            self._pool = None


@contextmanager
def translate_errors(upstream: str) -> Iterator[None]:
    try:
        yield
    except SplitlaneError:
        raise
    except TimeoutError as exc:  # connect and read timeouts
        raise UpstreamTimeout(f"upstream '{upstream}' timed out ({exc or type(exc).__name__})") from exc
    except ConnectFailed as exc:
        raise UpstreamUnavailable(f"cannot connect to upstream '{upstream}': {exc}") from exc
    except BadHeader as exc:
        raise InvalidRequest(f"cannot forward to upstream '{upstream}': {exc}") from exc
    except (HttpError, OSError) as exc:
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
    client: HttpClient,
    upstream: str,
    path: str,
    body: Mapping[str, Any],
    headers: Mapping[str, str],
    paced: bool = False,
) -> AsyncIterator[AsyncIterator[ServerSentEvent]]:
    """POST ``body`` and yield its server-sent events; errors come out translated. The connection
    goes back to the pool when the stream was read to its end, and is closed otherwise.

    ``paced``: the reader bounds the silence between events itself (a turn's ``Pacer``), so
    no read timeout is kept here."""
    with translate_errors(upstream):
        response = await client.pool().request(
            "POST",
            path,
            {**headers, "accept": "text/event-stream", "content-type": "application/json"},
            orjson.dumps(body),
            None if paced else client.read_timeout_s,
        )
        try:
            if response.status >= 400:
                raw = await response.read()
                raise error_from_status(upstream, response.status, raw, response.headers)
            kind = response.headers.get("content-type", "")
            if not kind.startswith("text/event-stream"):
                raise UpstreamProtocolError(
                    f"upstream '{upstream}' answered with {kind or 'no content-type'}, not an event stream"
                )
            source = _events(response, upstream)
            yield source
            await _drain(source)
        finally:
            response.release()


async def _events(response: Response, upstream: str) -> AsyncIterator[ServerSentEvent]:
    decoder = SSEDecoder()
    with translate_errors(upstream):
        async for chunk in response.chunks():
            for event in decoder.feed(chunk):
                yield event


async def _drain(source: AsyncIterator[ServerSentEvent]) -> None:
    """Read what follows the last event a decoder wanted (usually just the end of the chunked body)
    so that the connection goes back to the pool instead of being closed; an upstream that keeps
    the stream open past its end gets the connection closed after ``DRAIN_S``."""
    with suppress(Exception):
        async with asyncio.timeout(DRAIN_S):
            async for _ in source:
                pass


async def post_json(
    client: HttpClient, upstream: str, path: str, body: Mapping[str, Any], headers: Mapping[str, str]
) -> Any:
    status, raw, answered = await post_raw(client, upstream, path, body, headers)
    if status >= 400:
        raise error_from_status(upstream, status, raw, answered)
    return parse_json(raw, upstream)


async def post_raw(
    client: HttpClient, upstream: str, path: str, body: Mapping[str, Any], headers: Mapping[str, str]
) -> tuple[int, bytes, Mapping[str, str]]:
    """POST JSON; the status, body and headers of the answer, whatever its status (a caller that
    probes whether a server has an endpoint reads the status itself)."""
    with translate_errors(upstream):
        response = await client.pool().request(
            "POST", path, {**headers, "content-type": "application/json"}, orjson.dumps(body), client.read_timeout_s
        )
        try:
            raw = await response.read()
        finally:
            response.release()
    return response.status, raw, response.headers


async def get_raw(client: HttpClient, upstream: str, path: str) -> tuple[int, bytes]:
    """GET; the status and body of the answer, whatever its status."""
    with translate_errors(upstream):
        response = await client.pool().request("GET", path, {}, b"", client.read_timeout_s)
        try:
            raw = await response.read()
        finally:
            response.release()
    return response.status, raw


def parse_json(data: str | bytes, upstream: str) -> Any:
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise UpstreamProtocolError(f"upstream '{upstream}' sent invalid JSON: {str(data)[:200]!r}") from exc
