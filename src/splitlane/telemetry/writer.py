"""The one writer of telemetry rows: a bounded queue drained in batches by one task.

Nothing on the request path waits on the database except, at a turn's very end, for its own row's
commit (bounded by ``durable_wait_s``) — so a turn the client saw finish survives a SIGKILL. When
the queue is full, the record is dropped and counted; the count is stored with the next batch,
exported as a metric and shown by ``splitlane report``: never silent.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from splitlane.store.schema import captures, telemetry_drops, turns
from splitlane.telemetry.records import Clock, TurnRecord

log = logging.getLogger("splitlane.telemetry")

RETRIES = 3
INSERT_TURNS = insert(turns)  # built once: constructing the statement per batch showed in profiles
INSERT_CAPTURES = insert(captures)


@dataclass(frozen=True, slots=True)
class Captured:
    """A turn's full content (capture mode), already redacted, as JSON text."""

    request: str
    output: str


@dataclass(slots=True)
class _Item:
    record: TurnRecord
    captured: Captured | None
    stored: asyncio.Future[None]


@dataclass(slots=True)
class WriterStats:
    written: int = 0
    dropped: int = 0  # the queue was full
    failed: int = 0  # the database refused the batch after retries
    unsaved_drops: int = field(default=0, repr=False)


class TelemetryWriter:
    def __init__(self, engine: AsyncEngine, clock: Clock, queue_size: int = 10_000, batch_size: int = 500) -> None:
        self.engine = engine
        self.clock = clock
        self.batch_size = batch_size
        self.stats = WriterStats()
        self._queue: asyncio.Queue[_Item] = asyncio.Queue(queue_size)
        self._task: asyncio.Task[None] | None = None
        # held for the writer's life: a pool checkout and reset per batch cost more than the insert
        self._connection: AsyncConnection | None = None

    @property
    def depth(self) -> int:
        return self._queue.qsize()

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="splitlane-telemetry-writer")

    def submit(self, record: TurnRecord, captured: Captured | None = None) -> asyncio.Future[None] | None:
        """Queue a record without waiting; ``None`` when it was dropped (queue full)."""
        stored: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        try:
            self._queue.put_nowait(_Item(record, captured, stored))
        except asyncio.QueueFull:
            self.stats.dropped += 1
            self.stats.unsaved_drops += 1
            if self.stats.dropped == 1 or self.stats.dropped % 1000 == 0:
                log.warning("telemetry queue full: %d turn records dropped so far", self.stats.dropped)
            return None
        return stored

    async def write(self, record: TurnRecord, captured: Captured | None, wait_s: float) -> None:
        """Queue a record and wait (at most ``wait_s``) until it is committed."""
        stored = self.submit(record, captured)
        if stored is None or wait_s <= 0:
            return
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(stored), wait_s)

    async def _run(self) -> None:
        while True:
            batch = [await self._queue.get()]
            while len(batch) < self.batch_size and not self._queue.empty():
                batch.append(self._queue.get_nowait())
            await self._commit(batch)
            for _ in batch:
                self._queue.task_done()

    async def _commit(self, batch: list[_Item]) -> None:
        drops = self.stats.unsaved_drops
        for attempt in range(1, RETRIES + 1):
            try:
                await self._insert(batch, drops)
            except Exception as exc:
                if attempt == RETRIES:
                    self.stats.failed += len(batch)
                    log.error("telemetry: %d turn records could not be stored: %s", len(batch), exc)
                    break
                await asyncio.sleep(0.2 * attempt)
            else:
                self.stats.written += len(batch)
                self.stats.unsaved_drops -= drops
                break
        for item in batch:
            if not item.stored.done():
                item.stored.set_result(None)

    async def _insert(self, batch: list[_Item], drops: int) -> None:
        if self._connection is None or self._connection.closed:
            self._connection = await self.engine.connect()
        try:
            await self._insert_on(self._connection, batch, drops)
        except Exception:
            await self._disconnect()  # the next attempt starts on a fresh connection
            raise

    async def _disconnect(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            with contextlib.suppress(Exception):
                await connection.close()

    async def _insert_on(self, connection: AsyncConnection, batch: list[_Item], drops: int) -> None:
        async with connection.begin():
            if batch:
                await connection.execute(INSERT_TURNS, [item.record.row() for item in batch])
            shots = [
                {
                    "turn_id": item.record.id,
                    "session": item.record.session,
                    "t_recv": item.record.t_recv,
                    "request": item.captured.request,
                    "output": item.captured.output,
                }
                for item in batch
                if item.captured is not None
            ]
            if shots:
                await connection.execute(INSERT_CAPTURES, shots)
            if drops:
                await connection.execute(insert(telemetry_drops).values(at=self.clock.now(), dropped=drops))

    async def aclose(self, timeout_s: float = 10.0) -> None:
        """Flush what is queued (up to ``timeout_s``), then stop."""
        if self._task is None:
            return
        try:
            async with asyncio.timeout(timeout_s):
                await self._queue.join()
                if self.stats.unsaved_drops:
                    await self._commit([])
        except TimeoutError:
            log.error("telemetry: %d turn records not flushed at shutdown", self._queue.qsize())
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        await self._disconnect()
