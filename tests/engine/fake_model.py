"""A deterministic stand-in for the llama.cpp runner that checks the engine's KV bookkeeping.

Its "KV cache" is a map position -> token per sequence; ``decode`` refuses a batch that writes a
position already held or skips one, and computes each position's next token from the tokens its
sequence holds at positions before it, so a wrong ``forget``/``share`` shows up as different
text. The next token copies what followed the last two tokens earlier in the context, so outputs
repeat earlier stretches of it, as an agent re-emitting code does (speculation gets to draft).
"""

from __future__ import annotations

import threading
from collections.abc import Sequence

from splitlane.engine.runner import BatchToken, KvFull, SamplingParams

ALPHABET = "abcdefghijklmnopqrstuvwxyz .,:()[]_\n="
END = 0


class FakeSampler:
    def __init__(self, model: FakeModel, params: SamplingParams) -> None:
        self.model = model
        del params

    def sample(self, index: int) -> int:
        return self.model.next_tokens[index]

    def free(self) -> None:
        self.model.freed += 1


class FakeModel:
    def __init__(self, n_ctx: int = 512, n_seq: int = 3, kv_cells: int = 4096, n_batch: int = 64) -> None:
        self.n_ctx = n_ctx
        self.n_seq = n_seq
        self.n_batch = n_batch
        self.kv_cells = kv_cells
        self.metadata: dict[str, str] = {}
        self.kv: list[dict[int, int]] = [{} for _ in range(n_seq)]
        self.next_tokens: dict[int, int] = {}
        self.decoded_tokens = 0
        self.batches: list[int] = []
        self.freed = 0
        self.closed = False
        self.gate = threading.Event()  # tests can hold the engine between steps
        self.gate.set()

    # text <-> tokens: one token per character of ALPHABET (others read as a space), end token 0
    def tokenize(self, text: str) -> list[int]:
        return [1 + (ALPHABET.find(c) if c in ALPHABET else ALPHABET.find(" ")) for c in text.lower()]

    def token_bytes(self, token: int) -> bytes:
        return ALPHABET[token - 1].encode() if token else b""

    def is_end(self, token: int) -> bool:
        return token == END

    def sampler(self, params: SamplingParams, grammar: str | None = None) -> FakeSampler:
        return FakeSampler(self, params)

    def _next(self, seq: int, pos: int) -> int:
        """Like an induction head: what followed the latest earlier occurrence of the last two
        tokens, else a hash of the last three (and of the position, now and then)."""
        held = self.kv[seq]
        if pos >= 2:
            pair = (held[pos - 1], held[pos])
            for q in range(pos - 1, 0, -1):
                if (held[q - 1], held[q]) == pair and pos % 13:
                    return held[q + 1]
        context = [held[p] for p in range(max(0, pos - 2), pos + 1)]
        return 1 + sum((i + 3) * t for i, t in enumerate(context)) % len(ALPHABET)

    def decode(self, tokens: Sequence[BatchToken]) -> None:
        self.gate.wait()
        assert 0 < len(tokens) <= self.n_batch
        if sum(len(k) for k in self.kv) + len(tokens) > self.kv_cells:
            raise KvFull
        for t in tokens:
            held = self.kv[t.seq]
            assert t.pos not in held, f"position {t.pos} of sequence {t.seq} written twice"
            assert t.pos == len(held), f"sequence {t.seq} skips to {t.pos} holding {len(held)}"
            held[t.pos] = t.token
        self.next_tokens = {i: self._next(t.seq, t.pos) for i, t in enumerate(tokens) if t.logits}
        self.decoded_tokens += len(tokens)
        self.batches.append(len(tokens))

    def forget(self, seq: int, start: int = 0) -> None:
        self.kv[seq] = {p: t for p, t in self.kv[seq].items() if p < start}

    def share(self, source: int, target: int, length: int) -> None:
        self.kv[target] = {p: t for p, t in self.kv[source].items() if p < length}

    def close(self) -> None:
        self.closed = True
