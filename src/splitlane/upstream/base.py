"""The contract every upstream kind implements: canonical request in, canonical events out."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import Protocol

from splitlane.core.events import Event
from splitlane.core.request import ChatRequest


class Upstream(Protocol):
    name: str
    kind: str

    def relays(self, request: ChatRequest) -> bool:
        """Whether ``request`` goes out as the client sent it and the upstream's own events come
        back as ``Relay`` events (a same-protocol hop); false for the in-process upstreams."""
        ...

    def stream(self, request: ChatRequest) -> AsyncGenerator[Event, None]:
        """Stream the reply to ``request`` (whose ``model`` is the upstream's model name).

        Raises ``SplitlaneError`` subclasses, before the first event or mid-stream.
        Closing the iterator early closes the upstream request. The caller bounds the wait for
        each event (a turn's first-byte timeout, then its ``Pacer``): no per-read timeout here.
        """
        ...

    async def count_tokens(self, request: ChatRequest) -> int:
        """Input tokens ``request`` would cost on this upstream (estimated where it cannot say)."""
        ...

    async def aclose(self) -> None: ...
