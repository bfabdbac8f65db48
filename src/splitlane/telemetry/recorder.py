"""The gateway's telemetry: starts an observer per turn, and when the turn ends hands its record to
the metrics and the writer. Tool gaps come from the session's previous turn, kept in memory."""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import replace

from splitlane.core.errors import SplitlaneError
from splitlane.core.request import ChatRequest
from splitlane.core.response import ChatResponse
from splitlane.sessions.identify import SessionId
from splitlane.telemetry.observe import TurnObserver
from splitlane.telemetry.prices import PriceBook, Tokens, cost_usd
from splitlane.telemetry.prometheus import GatewayMetrics
from splitlane.telemetry.records import Clock, TurnRecord
from splitlane.telemetry.writer import Captured, TelemetryWriter

Capture = Callable[[ChatRequest, ChatResponse], Captured]


class Recorder:
    def __init__(
        self,
        clock: Clock,
        writer: TelemetryWriter,
        metrics: GatewayMetrics,
        durable_wait_s: float = 2.0,
        capture: Capture | None = None,
        max_sessions: int = 10_000,
        prices: PriceBook | None = None,
    ) -> None:
        self.clock = clock
        self.writer = writer
        self.metrics = metrics
        self.durable_wait_s = durable_wait_s
        self.capture = capture
        self.max_sessions = max_sessions
        self.prices = prices
        self.inflight: dict[str, TurnObserver] = {}
        self._last_end: OrderedDict[str, float] = OrderedDict()

    def begin(
        self, request: ChatRequest, session: SessionId, t_recv: float, api_key: str | None = None
    ) -> TurnObserver:
        previous = self._last_end.get(session.key)
        gap = None if previous is None else max(0.0, t_recv - previous)
        observer = TurnObserver(self.clock, request, session, t_recv, gap, api_key)
        self.inflight[observer.id] = observer
        return observer

    async def finished(self, observer: TurnObserver, response: ChatResponse) -> TurnRecord:
        """A turn that finished: stored (waiting, boundedly, for its commit) before the client sees its end."""
        record = self._end(observer, observer.record())
        captured = self.capture(observer.request, response) if self.capture is not None else None
        await self.writer.write(record, captured, self.durable_wait_s)
        return record

    def failed(self, observer: TurnObserver, error: BaseException | None) -> None:
        """A turn that ended in an error, or was cancelled (``error`` None, or the task was cancelled
        because the client went away): queued, never awaited."""
        if observer.id not in self.inflight:
            return  # already recorded
        if error is None or isinstance(error, asyncio.CancelledError):
            record = observer.record("cancelled")
        else:
            kind = error.kind if isinstance(error, SplitlaneError) else "internal"
            message = error.message if isinstance(error, SplitlaneError) else type(error).__name__
            record = observer.record("error", f"{kind}: {message}")
        self.writer.submit(self._end(observer, record))

    def _end(self, observer: TurnObserver, record: TurnRecord) -> TurnRecord:
        record = self._priced(record)
        self.inflight.pop(observer.id, None)
        self._last_end[record.session] = record.t_last
        self._last_end.move_to_end(record.session)
        while len(self._last_end) > self.max_sessions:
            self._last_end.popitem(last=False)
        self.metrics.observe(record)
        return record

    def _priced(self, record: TurnRecord) -> TurnRecord:
        """The turn's cost at today's price (a turn that never reached an upstream costs nothing)."""
        if self.prices is None or not record.upstream:
            return record
        priced = self.prices.price(record.model, record.lane, record.upstream)
        upstream = record.upstream.partition("/")[0]
        sharing = sum(1 for o in self.inflight.values() if o.route.upstream.partition("/")[0] == upstream)
        tokens = Tokens(
            input=record.input_tokens,
            output=record.output_tokens,
            cache_read=record.cached_input_tokens,
            cache_write=record.cache_write_tokens,
            cache_write_1h=record.cache_write_1h_tokens,
            server_s=(record.t_last - (record.t_up or record.t_recv)) / max(1, sharing),  # this turn included
        )
        source = None if priced is None else priced.source
        return replace(record, cost_usd=cost_usd(priced, tokens), price_source=source)
