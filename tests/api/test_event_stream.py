"""A streamed turn opens the client's stream when the upstream opens its own: the upstream's first
event (a Chat role chunk, a Responses ``response.created``, an Anthropic ``message_start``) gives
the client its headers and the surface's opening events at once, not held back until the first
token — which would put that work on the time to first token, and tell the client nothing during
a long prefill. The upstream here sends its recorded first event and then waits for the test to
say the client has seen the opening: a gateway that held it back would never get there."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import StreamingResponse
from starlette.routing import Route

from tests.conftest import gateway_with
from tests.servers import FIXTURES, KIND_BY_PATH, serve, sse_events

GATE_S = 10.0  # the upstream gives up waiting after this; the client's read timeout is shorter


class GatedProvider:
    """Replays a recorded stream, holding everything after its first event until ``opened``."""

    def __init__(self) -> None:
        self.opened = threading.Event()

    def app(self) -> Starlette:
        return Starlette(routes=[Route(path, self._stream, methods=["POST"]) for path in KIND_BY_PATH])

    async def _stream(self, request: Request) -> StreamingResponse:
        await request.body()
        events = sse_events((FIXTURES / KIND_BY_PATH[request.url.path] / "text.sse").read_bytes())
        return StreamingResponse(self._gated(events), media_type="text/event-stream")

    async def _gated(self, events: list[bytes]) -> AsyncIterator[bytes]:
        yield events[0]
        await asyncio.to_thread(self.opened.wait, GATE_S)
        for event in events[1:]:
            yield event


@pytest.fixture(scope="module")
def gated(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[GatedProvider, str]]:
    provider = GatedProvider()
    with serve(provider.app()) as url:
        config = {
            "upstreams": {
                "chat": {"kind": "openai_chat", "base_url": url + "/v1"},
                "responses": {"kind": "openai_responses", "base_url": url + "/v1"},
                "anthropic": {"kind": "anthropic", "base_url": url},
            },
            "models": {name: {"upstream": name, "model": "fx-model"} for name in ("chat", "responses", "anthropic")},
        }
        with gateway_with(config, tmp_path_factory.mktemp("gated")) as gateway:
            yield provider, gateway


SURFACES: dict[str, tuple[str, dict[str, object], bytes]] = {
    "chat": ("/v1/chat/completions", {"messages": [{"role": "user", "content": "hi"}]}, b'"role":"assistant"'),
    "responses": ("/v1/responses", {"input": "hi"}, b"event: response.created"),
    "messages": (
        "/v1/messages",
        {"messages": [{"role": "user", "content": "hi"}], "max_tokens": 20},
        b"event: message_start",
    ),
}


@pytest.mark.parametrize("upstream", ["chat", "responses", "anthropic"])
@pytest.mark.parametrize("surface", list(SURFACES))
def test_the_client_stream_opens_before_the_first_token(
    gated: tuple[GatedProvider, str], surface: str, upstream: str
) -> None:
    provider, gateway = gated
    path, body, opening = SURFACES[surface]
    provider.opened.clear()
    try:
        request = {**body, "model": upstream, "stream": True}
        with httpx.stream("POST", gateway + path, json=request, timeout=GATE_S / 2) as response:
            assert response.status_code == 200
            seen = b""
            chunks = response.iter_bytes()
            while opening not in seen:
                seen += next(chunks)  # a held-back opening: ReadTimeout here
            assert b"Hello" not in seen  # the upstream has sent no token yet
            provider.opened.set()
            rest = b"".join(chunks)
        assert b"Hello" in rest
    finally:
        provider.opened.set()  # never leave the upstream waiting
