"""The engine's nouns: a ``Job`` (what to generate), the ``Ticket`` that carries it into the
engine thread and its output back to the event loop, and ``Done`` (how it ended, with its figures)."""

from __future__ import annotations

import asyncio
import threading
import time
from dataclasses import dataclass, field

from splitlane.engine.runner import SamplingParams


@dataclass(frozen=True, slots=True)
class Job:
    prompt: str
    max_tokens: int | None
    sampling: SamplingParams
    stops: tuple[str, ...] = ()
    grammar: str | None = None  # GBNF (runner.grammar_of a JSON schema): output follows it
    speculate: bool = True


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
    drafted_tokens: int = 0
    accepted_tokens: int = 0


@dataclass(slots=True)
class Ticket:
    job: Job
    tokens: list[int]
    loop: asyncio.AbstractEventLoop
    out: asyncio.Queue[str | Done | BaseException]
    enqueued: float = field(default_factory=time.monotonic)
    cancelled: threading.Event = field(default_factory=threading.Event)

    def send(self, item: str | Done | BaseException) -> None:
        self.loop.call_soon_threadsafe(self.out.put_nowait, item)
