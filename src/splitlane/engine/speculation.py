"""Drafts from the session's own tokens (prompt lookup) and a draft length that follows acceptance.

Agents re-send what they read and re-emit code they just saw. ``Lookup`` indexes every n-gram of
a sequence's tokens (earlier turns' prompts and outputs included, since they sit in the prompt)
and proposes the tokens that followed the most recent earlier occurrence of the current suffix.

Verification is exact for any sampler without state (greedy, or top-k/top-p/temperature): each
drafted position is sampled from the model's own distribution and the draft is kept while the
sample equals it. For a deterministic draft this *is* rejection sampling (accept ``d`` with
probability ``p(d)``; on rejection the sample comes from ``p`` without ``d``), and the random draws
happen in the same order as without speculation, so even seeded sampling gives the same tokens.
"""

from __future__ import annotations

from dataclasses import dataclass, field

NGRAM_SIZES = (4, 3, 2)  # longest match first: longer suffixes predict better


class Lookup:
    """n-gram -> position after its latest occurrence, over a growing token list."""

    def __init__(self) -> None:
        self.tokens: list[int] = []
        self._index: dict[tuple[int, ...], int] = {}
        self._indexed = 0  # tokens[:_indexed] have all their n-grams in the index

    def reset(self, tokens: list[int]) -> None:
        """Start over from ``tokens`` (a truncated or replaced history)."""
        keep = 0
        for a, b in zip(self.tokens, tokens, strict=False):
            if a != b:
                break
            keep += 1
        if keep < self._indexed:  # entries past the common prefix may point at stale tokens;
            self._index.clear()  # rebuilding is cheap next to the prefill that follows
            self._indexed = 0
        self.tokens = list(tokens)

    def extend(self, tokens: list[int]) -> None:
        self.tokens.extend(tokens)

    def _catch_up(self) -> None:
        """Index every n-gram that ends before the last token (the suffix we look up)."""
        toks, index = self.tokens, self._index
        end = len(toks) - 1
        for i in range(self._indexed, end):
            for n in NGRAM_SIZES:
                if i + 1 >= n:
                    index[tuple(toks[i + 1 - n : i + 1])] = i + 1
        self._indexed = max(self._indexed, end)

    def draft(self, pending: int, k: int) -> list[int]:
        """Up to ``k`` tokens that may follow ``tokens + [pending]``."""
        if k <= 0:
            return []
        self._catch_up()
        toks = self.tokens
        for n in NGRAM_SIZES:
            if len(toks) + 1 < n:
                continue
            key = (*toks[len(toks) + 1 - n :], pending)
            at = self._index.get(key)
            if at is not None and at < len(toks):
                return toks[at : at + k]
        return []


class StepCost:
    """What a decode step costs by its number of tokens, learned from the steps the engine runs.

    On this 2-vCPU machine every verified position pays the full output projection (Gemma 3:
    262K x 640, most of a token's compute) and batching saves little: 2 tokens cost 1.5x one,
    4 cost 2.4x, 8 cost 4.7x, 17 cost 12x (measured). On a GPU they cost about the same. The
    prior follows that measurement; every size seen follows its own moving average.
    """

    def __init__(self) -> None:
        self._seconds: dict[int, float] = {}

    def observe(self, tokens: int, seconds: float) -> None:
        old = self._seconds.get(tokens)
        self._seconds[tokens] = seconds if old is None else 0.8 * old + 0.2 * seconds

    def _cost(self, tokens: int) -> float:
        one = self._seconds.get(1)
        seen = self._seconds.get(tokens)
        if one and seen is not None:
            return seen / one
        return 1.0 if tokens <= 1 else 0.35 + 0.65 * tokens

    def ratio(self, base: int, extra: int) -> float:
        """Time of a step with ``extra`` more tokens over a step of ``base`` tokens."""
        return self._cost(base + extra) / self._cost(base)


@dataclass(slots=True)
class Acceptance:
    """A sequence's draft acceptance rate per token, from verified drafts and from shadow drafts:
    a draft that was not sent is still compared with the tokens that came, at no cost."""

    accepted: float = 1.2
    trials: float = 2.0  # prior 0.6, weight 2
    shadow: list[int] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return self.accepted / self.trials

    def verified(self, drafted: int, accepted: int) -> None:
        self._add(accepted, accepted + (1 if accepted < drafted else 0))

    def watch(self, draft: list[int]) -> None:
        if not self.shadow:
            self.shadow = list(draft)

    def produced(self, token: int) -> None:
        if not self.shadow:
            return
        if token == self.shadow[0]:
            self.shadow.pop(0)
            self._add(1, 1)
        else:
            self.shadow = []
            self._add(0, 1)

    def _add(self, accepted: int, trials: int) -> None:
        decay = 0.95**trials
        self.accepted = self.accepted * decay + accepted
        self.trials = self.trials * decay + trials


MAX_DRAFT = 16


def draft_length(rate: float, base: int, cost: StepCost, available: int) -> int:
    """The draft length with the most expected tokens per unit of step time for a batch already
    holding ``base`` decode tokens (0 when no length pays for itself)."""
    best, best_k = float(base), 0
    for k in range(1, min(available, MAX_DRAFT) + 1):
        expected = rate * (1 - rate**k) / (1 - rate) if rate < 1 else float(k)
        value = (base + expected) / cost.ratio(base, k)
        if value > best * 1.02:  # a margin: noise in the estimates should not buy wider batches
            best, best_k = value, k
    return best_k
