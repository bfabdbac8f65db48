"""The ASGI response of a streamed turn: it opens the upstream, then writes the turn's SSE chunks.

- Headers go out with the first upstream event, so a turn that fails before it says anything is a
  proper HTTP error in the surface's own format (``retry-after`` included); a failure after that
  is the surface's in-stream error event.
- Keepalives come from the turn's one clock (api/clock.py), the timer that also runs the upstream's
  idle and total timeouts: when the stream has been silent for ``keepalive_s`` (a long prefill,
  long reasoning) it sends a ping (before the first event it sends the 200 headers first, and a
  later failure arrives in-stream). No task per chunk, and a ping never interrupts an upstream read.
- The client's disconnect is watched by one task, which cancels the stream: the upstream request
  is closed at once (and the turn recorded as cancelled) instead of running to its end unread.
"""

from __future__ import annotations

import asyncio
from contextlib import aclosing
from typing import TYPE_CHECKING, Any

from starlette.types import Message, Receive, Scope, Send

from splitlane.api.clock import StreamClock
from splitlane.api.error_response import error_response

if TYPE_CHECKING:
    from splitlane.api.turn import Turn

SSE_HEADERS = [
    (b"content-type", b"text/event-stream; charset=utf-8"),
    (b"cache-control", b"no-cache"),
    (b"x-accel-buffering", b"no"),
]


class EventStream:
    def __init__(self, turn: Turn, keepalive_s: float) -> None:
        self.turn = turn
        self.keepalive_s = keepalive_s
        self._headers = [*SSE_HEADERS, (b"x-splitlane-lane", str(turn.plan.decision.lane).encode())]
        self._send: Send | None = None
        self._started = False  # the 200 headers are out (or on their way, in a ping)
        self._done = False  # the last message is being sent: no more pings, a disconnect is the normal end
        self._gone = False  # the client disconnected and this stream was cancelled for it
        self._ping: asyncio.Task[None] | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        loop = asyncio.get_running_loop()
        me = asyncio.current_task()
        assert me is not None
        self._send = send
        watch = loop.create_task(self._watch(receive, me))
        clock = StreamClock()
        if self.keepalive_s > 0:
            clock.keepalive(self.keepalive_s, self._keepalive)
        try:
            await self._run(scope, receive, send, clock)
        except asyncio.CancelledError:
            if self._gone and me.uncancel() == 0:
                return  # the client left; the turn's own cleanup closed the upstream and recorded it
            raise
        finally:
            self._done = True
            self.turn.abandoned()
            clock.close()
            watch.cancel()
            if self._ping is not None:
                self._ping.cancel()

    async def _run(self, scope: Scope, receive: Receive, send: Send, clock: StreamClock) -> None:
        turn = self.turn
        try:
            opened = await turn.open()
        except Exception as exc:
            error = turn.failed(exc)
            await self._pinged()
            if self._started:
                await self._end(b"".join(turn.surface.stream_encoder(turn.request).fail(error)))
            else:
                self._done = True
                await error_response(turn.surface.render_error, error)(scope, receive, send)
            return
        target = turn.routed(opened)
        await self._pinged()
        if not self._started:
            self._started = True
            headers = [*self._headers, (b"x-splitlane-upstream", target.label.encode())]
            await send({"type": "http.response.start", "status": 200, "headers": headers})
        loop = asyncio.get_running_loop()
        async with aclosing(turn.stream(opened, turn.encoder(opened), clock)) as chunks:
            async for chunk in chunks:
                clock.last_write = loop.time()
                if self._ping is not None:  # checked here: no coroutine call per chunk when no ping was sent
                    await self._pinged()
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
        await self._end(b"")

    async def _end(self, body: bytes) -> None:
        self._done = True
        await self._pinged()
        assert self._send is not None
        await self._send({"type": "http.response.body", "body": body, "more_body": False})

    async def _pinged(self) -> None:
        """Wait for a ping being sent (so that the headers precede the body, and the end is last)."""
        ping = self._ping
        if ping is not None:
            self._ping = None
            if not ping.done():
                await ping

    def _keepalive(self) -> bool:
        """The stream was silent for ``keepalive_s``: send a ping; False while one is still being sent."""
        if self._done:
            return True  # the end is being written: nothing to keep alive
        if self._ping is not None and not self._ping.done():
            return False
        first = not self._started
        self._started = True
        self._ping = asyncio.get_running_loop().create_task(self._send_ping(first))
        return True

    async def _send_ping(self, first: bool) -> None:
        assert self._send is not None
        if first:
            await self._send({"type": "http.response.start", "status": 200, "headers": self._headers})
        message: Message = {"type": "http.response.body", "body": self.turn.surface.keepalive, "more_body": True}
        await self._send(message)

    async def _watch(self, receive: Receive, stream: asyncio.Task[Any]) -> None:
        while (await receive())["type"] != "http.disconnect":
            pass
        if not self._done:
            self._gone = True
            stream.cancel()
