"""The embedded engine: one thread owns the model and runs every request in one loop of steps.

Each step decodes one batch that carries every running request's next token (plus its drafted
tokens) and a chunk of any prompt still being prefilled, so concurrent sessions progress together
(continuous batching). Requests arrive through a queue; their text goes back to the event loop
with ``call_soon_threadsafe``, so nothing blocks the loop.

Sequences are the unit of caching: a finished request leaves its tokens in the KV cache, and the
next request picks the sequence whose tokens share the longest prefix with its prompt (a prefix
held by another sequence is shared, not recomputed), so an agent's next turn prefills only what
it appended. Idle sequences give their cells back, least recently used first, when the cache is
full.
"""

from __future__ import annotations

import asyncio
import queue
import threading
import time
from collections.abc import AsyncGenerator, Callable

from splitlane.core.errors import ContextTooLong, InternalError, Overloaded
from splitlane.engine.requests import Done, Job, Ticket
from splitlane.engine.runner import BatchToken, KvFull, Runner
from splitlane.engine.scheduler import Scheduler
from splitlane.engine.sequences import Running
from splitlane.engine.speculation import MAX_DRAFT, StepCost, draft_length

PREFILL_CHUNK_WHILE_DECODING = 128  # prompt tokens per step while others decode (their latency)


class Engine:
    def __init__(self, load: Callable[[], Runner]) -> None:
        self._jobs: queue.SimpleQueue[Ticket | None] = queue.SimpleQueue()
        self._loaded = threading.Event()
        self._runner: Runner | None = None
        self._load_error: BaseException | None = None
        self.scheduler = Scheduler()  # which sequence each request runs in (the engine thread's)
        self._cost = StepCost()
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
        runner = await self.runner()
        tokens = await asyncio.to_thread(runner.tokenize, job.prompt)
        if not tokens:
            tokens = runner.tokenize(" ")
        if len(tokens) >= runner.n_ctx:
            raise ContextTooLong(
                f"the prompt is {len(tokens)} tokens; the embedded model's context is {runner.n_ctx} tokens",
                param="messages",
            )
        ticket = Ticket(job, tokens, asyncio.get_running_loop(), asyncio.Queue())
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
            ticket.cancelled.set()  # a consumer that stops early frees its sequence at the next step

    @property
    def queue_depth(self) -> int:
        """Requests waiting for a sequence (not counting those running)."""
        return self._jobs.qsize() + len(self.scheduler.waiting)

    def close(self) -> None:
        self._jobs.put(None)

    # -- the engine thread -------------------------------------------------------------------

    def _main(self, load: Callable[[], Runner]) -> None:
        try:
            self._runner = load()
            self.scheduler.open(self._runner)
        except Exception as exc:
            self._load_error = exc
        finally:
            self._loaded.set()
        runner = self._runner
        if runner is None:
            return
        try:
            while self._receive():
                self.scheduler.admit(runner)
                if self.scheduler.running:
                    try:
                        self._step(runner)
                    except Exception as exc:  # the model failed: every running request learns it
                        for run in list(self.scheduler.running):  # fail() removes each from the list
                            self.scheduler.fail(run, exc, self._runner)
        finally:
            for ticket in self.scheduler.waiting:
                ticket.send(Overloaded("the embedded engine is shutting down"))
            for run in list(self.scheduler.running):
                self.scheduler.fail(run, Overloaded("the embedded engine is shutting down"), self._runner)
            runner.close()

    def _receive(self) -> bool:
        """Take new tickets (waiting for one when idle); False once closed and drained."""
        block = not self.scheduler.running and not self.scheduler.waiting
        while True:
            try:
                ticket = self._jobs.get(block=block)
            except queue.Empty:
                return True
            if ticket is None:
                return False
            self.scheduler.waiting.append(ticket)
            block = False

    def _step(self, runner: Runner) -> None:
        decoding = [r for r in self.scheduler.running if r.pending is not None]
        batch: list[BatchToken] = []
        plan: list[tuple[Running, int, list[int]]] = []  # (request, its first batch index, drafts)
        for run in decoding:
            assert run.pending is not None
            drafts = self._drafts(run, len(decoding)) if run.speculate else []
            pos = len(run.slot.tokens)
            plan.append((run, len(batch), drafts))
            for i, token in enumerate((run.pending, *drafts)):
                batch.append(BatchToken(token, pos + i, run.slot.seq, True))
        budget = runner.n_batch - len(batch)
        if decoding:
            budget = min(budget, PREFILL_CHUNK_WHILE_DECODING)
        chunks: list[tuple[Running, list[int], int | None]] = []  # (request, chunk, index of its last token)
        for run in (r for r in self.scheduler.running if r.pending is None):
            if budget <= 0:
                break
            if run.leaders and self.scheduler.follow(runner, run):
                continue  # an earlier request is prefilling this prompt's beginning: share it when done
            chunk = run.prompt[run.prefilled : run.prefilled + budget]
            last = run.prefilled + len(chunk) == len(run.prompt)
            for i, token in enumerate(chunk):
                batch.append(BatchToken(token, run.prefilled + i, run.slot.seq, last and i == len(chunk) - 1))
            chunks.append((run, chunk, len(batch) - 1 if last else None))
            budget -= len(chunk)
        started = time.monotonic()
        if not self._decode(runner, batch):
            return  # a request was refused to make room; the next step is planned again
        if not chunks:
            self._cost.observe(len(batch), time.monotonic() - started)
        now = time.monotonic()
        for run, chunk, last_index in chunks:
            run.slot.lookup.extend(chunk)
            run.prefilled += len(chunk)
            if last_index is not None:
                run.first_at = now
                self._emit(runner, run, [run.sampler.sample(last_index)])
        for run, index, drafts in plan:
            self._verify(runner, run, index, drafts)
        for run in [r for r in self.scheduler.running if r.finished]:
            self._finish(run)

    def _drafts(self, run: Running, decoding: int) -> list[int]:
        assert run.pending is not None
        room = run.limit - run.produced - 1
        proposal = run.slot.lookup.draft(run.pending, min(MAX_DRAFT, room))
        if not proposal:
            return []
        k = draft_length(run.acceptance.rate, decoding, self._cost, len(proposal))
        if k == 0:
            run.acceptance.watch(proposal)
        return proposal[:k]

    def _verify(self, runner: Runner, run: Running, index: int, drafts: list[int]) -> None:
        """Sample at each verified position while the draft holds; drop the rest from the cache."""
        assert run.pending is not None
        fed = [run.pending]
        out = [run.sampler.sample(index)]
        for i, draft in enumerate(drafts):
            if out[-1] != draft:
                break
            fed.append(draft)
            out.append(run.sampler.sample(index + i + 1))
        accepted = len(fed) - 1
        if drafts:
            run.drafted += len(drafts)
            run.accepted += accepted
            run.acceptance.verified(len(drafts), accepted)
            if accepted < len(drafts):
                runner.forget(run.slot.seq, len(run.slot.tokens) + len(fed))
        run.slot.lookup.extend(fed)
        run.pending = None
        self._emit(runner, run, out)

    def _emit(self, runner: Runner, run: Running, tokens: list[int]) -> None:
        """Hand sampled tokens to the client until the request ends; the last one stays pending."""
        ignore_eos = run.ticket.job.sampling.ignore_eos
        for token in tokens:
            if not ignore_eos and runner.is_end(token):
                run.finished = True
                return
            run.produced += 1
            run.acceptance.produced(token)
            piece = run.text.feed(runner.token_bytes(token))
            if piece:
                run.ticket.send(piece)
            if run.text.stopped_by is not None or run.produced >= run.limit:
                run.finished = True
                return
        run.pending = tokens[-1]

    def _decode(self, runner: Runner, batch: list[BatchToken]) -> bool:
        """Decode, giving idle sequences' cells back while the cache is full. With nothing idle left
        the newest request is refused (its cells free the others); False says the batch was not run."""
        while True:
            try:
                runner.decode(batch)
                return True
            except KvFull:
                if self.scheduler.evict(runner):
                    continue
                newest = max(self.scheduler.running, key=lambda r: r.admitted)
                self.scheduler.fail(
                    newest, Overloaded("the embedded engine's KV cache is full; retry shortly"), self._runner
                )
                return False

    def _finish(self, run: Running) -> None:
        tail = run.text.flush()
        if tail:
            run.ticket.send(tail)
        ended = time.monotonic()
        first = run.first_at or ended
        ticket = run.ticket
        run.ticket.send(
            Done(
                prompt_tokens=len(run.prompt),
                cached_tokens=run.cached,
                output_tokens=run.produced,
                hit_max_tokens=run.produced >= run.limit and run.text.stopped_by is None,
                stop_sequence=run.text.stopped_by,
                queue_wait_s=run.admitted - ticket.enqueued,
                prefill_s=first - run.admitted,
                decode_s=ended - first,
                drafted_tokens=run.drafted,
                accepted_tokens=run.accepted,
            )
        )
        self.scheduler.release(run, self._runner)
