"""The embedded engine: one thread owns the model; jobs arrive through a queue and their tokens
go back to the event loop with ``call_soon_threadsafe``, so nothing blocks the loop.
"""

from __future__ import annotations

import asyncio
import queue
import threading
import time
from collections.abc import AsyncGenerator, Callable
from dataclasses import dataclass, field

from splitlane.core.errors import ContextTooLong, InternalError
from splitlane.engine.runner import Runner, SamplingParams
from splitlane.engine.text import TextStream


@dataclass(frozen=True, slots=True)
class Job:
    prompt: str
    max_tokens: int | None
    sampling: SamplingParams
    stops: tuple[str, ...] = ()
    json_schema: str | None = None


@dataclass(frozen=True, slots=True)
class Done:
    """The end of a job, with its statistics."""

    prompt_tokens: int
    cached_tokens: int
    output_tokens: int
    hit_max_tokens: bool
    stop_sequence: str | None
    queue_wait_s: float
    prefill_s: float
    decode_s: float


@dataclass(slots=True)
class _Ticket:
    job: Job
    loop: asyncio.AbstractEventLoop
    out: asyncio.Queue[str | Done | BaseException]
    enqueued: float = field(default_factory=time.monotonic)
    cancelled: threading.Event = field(default_factory=threading.Event)

    def send(self, item: str | Done | BaseException) -> None:
        self.loop.call_soon_threadsafe(self.out.put_nowait, item)


class Engine:
    def __init__(self, load: Callable[[], Runner]) -> None:
        self._jobs: queue.SimpleQueue[_Ticket | None] = queue.SimpleQueue()
        self._loaded = threading.Event()
        self._runner: Runner | None = None
        self._load_error: BaseException | None = None
        self._thread = threading.Thread(target=self._main, args=(load,), name="splitlane-engine", daemon=True)
        self._thread.start()

    async def runner(self) -> Runner:
        """The loaded runner (waits for the model to load without blocking the loop)."""
        if not self._loaded.is_set():
            await asyncio.to_thread(self._loaded.wait)
        if self._runner is None:
            raise InternalError(f"the embedded model failed to load: {self._load_error}")
        return self._runner

    async def generate(self, job: Job) -> AsyncGenerator[str | Done, None]:
        await self.runner()
        ticket = _Ticket(job, asyncio.get_running_loop(), asyncio.Queue())
        self._jobs.put(ticket)
        try:
            while True:
                item = await ticket.out.get()
                if isinstance(item, BaseException):
                    raise item
                yield item
                if isinstance(item, Done):
                    return
        finally:
            ticket.cancelled.set()  # a consumer that stops early frees the engine at the next token

    @property
    def queue_depth(self) -> int:
        """Requests waiting for the engine thread (not counting the one it is running)."""
        return self._jobs.qsize()

    def close(self) -> None:
        self._jobs.put(None)

    def _main(self, load: Callable[[], Runner]) -> None:
        try:
            self._runner = load()
        except Exception as exc:
            self._load_error = exc
        finally:
            self._loaded.set()
        while (ticket := self._jobs.get()) is not None:
            if ticket.cancelled.is_set() or self._runner is None:
                continue
            try:
                self._run(self._runner, ticket)
            except Exception as exc:
                ticket.send(exc)

    def _run(self, runner: Runner, ticket: _Ticket) -> None:
        job = ticket.job
        started = time.monotonic()
        tokens = runner.tokenize(job.prompt)
        room = runner.n_ctx - len(tokens)
        if room <= 0:
            raise ContextTooLong(
                f"the prompt is {len(tokens)} tokens; the embedded model's context is {runner.n_ctx} tokens",
                param="messages",
            )
        limit = min(job.max_tokens or room, room)
        cached = runner.cached_prefix(tokens)
        text = TextStream(job.stops)
        produced = 0
        first_at = started
        for token in runner.generate(tokens, job.sampling, job.json_schema, ticket.cancelled):
            if produced == 0:
                first_at = time.monotonic()
            produced += 1
            piece = text.feed(runner.token_bytes(token))
            if piece:
                ticket.send(piece)
            if text.stopped_by is not None or produced >= limit:
                break
        tail = text.flush()
        if tail:
            ticket.send(tail)
        ended = time.monotonic()
        ticket.send(
            Done(
                len(tokens),
                cached,
                produced,
                produced >= limit and text.stopped_by is None,
                text.stopped_by,
                started - ticket.enqueued,
                first_at - started,
                ended - first_at,
            )
        )
