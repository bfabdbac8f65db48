"""Which sequence each request runs in, and what of its prompt is already cached there.

The engine thread's bookkeeping of sequences (``Slot``) and requests (waiting ``Ticket``\\ s,
``Running`` ones): a request takes the free sequence holding the longest prefix of its prompt (or
shares another's cells when that one holds more), follows an earlier request that is prefilling
the same beginning instead of computing it twice, and gives its sequence back when it ends, its
tokens left cached for the session's next turn. Idle sequences are evicted least recently used
first when the KV cache is full. Only the engine thread calls this.
"""

from __future__ import annotations

import time

from splitlane.engine.requests import Ticket
from splitlane.engine.runner import Runner
from splitlane.engine.sequences import Running, Slot, common_prefix
from splitlane.engine.text import TextStream


class Scheduler:
    def __init__(self) -> None:
        self.waiting: list[Ticket] = []
        self.running: list[Running] = []
        self.slots: list[Slot] = []

    def open(self, runner: Runner) -> None:
        """The runner is loaded: one slot per sequence it holds."""
        self.slots = [Slot(seq) for seq in range(runner.n_seq)]

    def admit(self, runner: Runner) -> None:
        """Drop what was cancelled, then start waiting requests while a sequence is free."""
        for run in [r for r in self.running if r.ticket.cancelled.is_set()]:
            self.release(run, runner)
        self.waiting = [t for t in self.waiting if not t.cancelled.is_set()]
        while self.waiting:
            free = [s for s in self.slots if not s.busy]
            if not free:
                return
            ticket = self.waiting.pop(0)
            try:
                self.running.append(self._start(runner, ticket, free))
            except Exception as exc:  # this request cannot start (a grammar llama.cpp refuses); the rest go on
                ticket.send(exc)

    def _start(self, runner: Runner, ticket: Ticket, free: list[Slot]) -> Running:
        sampler = runner.sampler(ticket.job.sampling, ticket.job.grammar)  # first: it may refuse the request
        prompt = ticket.tokens
        held = {s.seq: common_prefix(s.tokens, prompt) for s in self.slots}  # tokens of this prompt each holds
        slot = max(free, key=lambda s: (held[s.seq], not s.tokens, -s.last_used))
        reuse = min(held[slot.seq], len(prompt) - 1)
        donor = max(self.slots, key=lambda s: held[s.seq])
        shared = min(held[donor.seq], len(prompt) - 1)
        if donor is not slot and shared > reuse:  # another sequence holds more of this prompt
            runner.forget(slot.seq, 0)
            runner.share(donor.seq, slot.seq, shared)
            reuse = shared
        else:
            runner.forget(slot.seq, reuse)
        slot.lookup.reset(prompt[:reuse])
        slot.busy = True
        job = ticket.job
        room = runner.n_ctx - len(prompt)
        speculate = job.speculate and job.grammar is None
        leaders = [(r, common_prefix(r.prompt, prompt)) for r in self.running]
        return Running(
            ticket=ticket,
            slot=slot,
            sampler=sampler,
            text=TextStream(job.stops),
            limit=min(job.max_tokens or room, room),
            cached=reuse,
            admitted=time.monotonic(),
            speculate=speculate,
            prefilled=reuse,
            leaders=[(r, n) for r, n in leaders if n > reuse],
        )

    def follow(self, runner: Runner, run: Running) -> bool:
        """Take what earlier requests have prefilled of this prompt (shared cells, not recomputed);
        True while one of them is still prefilling more of it (this one waits a step rather than
        computing the same positions: N sessions started together share one prefill of their
        common system prompt)."""
        last = len(run.prompt) - 1  # the prompt's last token is decoded by the request itself (its logits)
        leaders = [(r, n) for r, n in run.leaders if r in self.running and min(n, last) > run.prefilled]
        run.leaders = leaders
        wait = False
        for leader, common in leaders:
            held = min(common, last, len(leader.slot.tokens))
            if held > run.prefilled:
                runner.forget(run.slot.seq, run.prefilled)
                runner.share(leader.slot.seq, run.slot.seq, held, start=run.prefilled)
                run.slot.lookup.extend(run.prompt[run.prefilled : held])
                run.cached += held - run.prefilled
                run.prefilled = held
            if min(common, last) > run.prefilled and leader.pending is None:
                wait = True  # the leader is prefilling toward the common part
        return wait

    def evict(self, runner: Runner) -> bool:
        """Give the least recently used idle sequence's cells back; False when none is idle."""
        idle = [s for s in self.slots if not s.busy and s.tokens]
        if not idle:
            return False
        victim = min(idle, key=lambda s: s.last_used)
        runner.forget(victim.seq, 0)
        victim.lookup.reset([])
        return True

    def fail(self, run: Running, exc: BaseException, runner: Runner | None) -> None:
        run.ticket.send(exc)
        if run in self.running:
            self.release(run, runner)
        if runner is not None:  # what it left in the cache is not worth trusting
            runner.forget(run.slot.seq, 0)
            run.slot.lookup.reset([])

    def release(self, run: Running, runner: Runner | None) -> None:
        """The sequence becomes idle; its tokens stay cached for the session's next turn."""
        run.sampler.free()
        run.slot.busy = False
        run.slot.last_used = time.monotonic()
        if run.prefilled < len(run.prompt) and runner is not None:
            runner.forget(run.slot.seq, len(run.slot.tokens))
        self.running.remove(run)
