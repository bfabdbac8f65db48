"""HTTP transport shared by the upstream kinds: pooled aiohttp sessions, SSE, error translation.

aiohttp rather than httpx on this path: measured with ``splitlane bench overhead``, a streamed
request through httpx (httpcore + anyio + h11) cost the gateway about twice the CPU of the same
request through aiohttp's C-accelerated client, per request and per chunk.

Lower-level exceptions (aiohttp, bad statuses) are translated into ``core.errors`` at one boundary,
``translate_errors``, and re-raised ``from`` the original.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator, Mapping
from contextlib import asynccontextmanager, contextmanager, suppress
from typing import Any

import aiohttp
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
from splitlane.upstream.sse import ServerSentEvent, SSEDecoder

DRAIN_S = 1.0
KEEPALIVE_S = 60.0
READ_BACKSTOP_S = 1.0
_CONTEXT_MARKERS = ("context_length", "context length", "context window", "too many tokens", "prompt is too long")


class HttpClient:
    """One upstream's connection pool (an aiohttp session, opened on first use in the running loop)
    with its base URL and timeouts: ``idle_timeout_s`` (+1 s) bounds the silence between two reads."""

    def __init__(self, config: UpstreamConfig, base_url: str | None = None) -> None:
        self.base_url = (base_url if base_url is not None else config.base_url or "").rstrip("/")
        self.timeout = aiohttp.ClientTimeout(
            total=None,
            connect=None,
            sock_connect=config.connect_timeout_s,
            # a backstop: the turn's own clock (api/pacing.py) ends a silent stream first, with a clearer error
            sock_read=config.idle_timeout_s + READ_BACKSTOP_S,
        )
        # for streams whose reader keeps its own idle clock (api/pacing.py): aiohttp's read timeout
        # re-arms a timer on every network read, ~4 % of the gateway's CPU on a paced stream
        self.paced_timeout = aiohttp.ClientTimeout(total=None, connect=None, sock_connect=config.connect_timeout_s)
        self.limit = config.max_connections
        self._session: aiohttp.ClientSession | None = None

    def session(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(limit=self.limit, limit_per_host=0, keepalive_timeout=KEEPALIVE_S)
            self._session = aiohttp.ClientSession(connector=connector, timeout=self.timeout)
        return self._session

    def url(self, path: str) -> str:
        return self.base_url + path

    def connections_in_use(self) -> int:
        """Connections lent out of the pool now (requests in progress); a leak shows up here."""
        if self._session is None or self._session.closed:
            return 0
        return len(getattr(self._session.connector, "_acquired", ()))  # aiohttp has no public count

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


def make_client(config: UpstreamConfig) -> HttpClient:
    return HttpClient(config)


@contextmanager
def translate_errors(upstream: str) -> Iterator[None]:
    try:
        yield
    except SplitlaneError:
        raise
    except TimeoutError as exc:  # aiohttp's connect and read timeouts are TimeoutErrors
        raise UpstreamTimeout(f"upstream '{upstream}' timed out ({type(exc).__name__})") from exc
    except (aiohttp.ClientConnectorError, aiohttp.InvalidURL) as exc:
        raise UpstreamUnavailable(f"cannot connect to upstream '{upstream}': {exc}") from exc
    except (aiohttp.ClientError, OSError) as exc:
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
    aiohttp's per-read timeout is left off."""
    with translate_errors(upstream):
        response = await client.session().post(
            client.url(path),
            data=orjson.dumps(body),
            headers={**headers, "accept": "text/event-stream", "content-type": "application/json"},
            timeout=client.paced_timeout if paced else client.timeout,
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


async def _events(response: aiohttp.ClientResponse, upstream: str) -> AsyncIterator[ServerSentEvent]:
    decoder = SSEDecoder()
    with translate_errors(upstream):
        async for chunk in response.content.iter_any():
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
    with translate_errors(upstream):
        async with client.session().post(
            client.url(path), data=orjson.dumps(body), headers={**headers, "content-type": "application/json"}
        ) as response:
            raw = await response.read()
            if response.status >= 400:
                raise error_from_status(upstream, response.status, raw, response.headers)
            return parse_json(raw, upstream)


def parse_json(data: str | bytes, upstream: str) -> Any:
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise UpstreamProtocolError(f"upstream '{upstream}' sent invalid JSON: {str(data)[:200]!r}") from exc
