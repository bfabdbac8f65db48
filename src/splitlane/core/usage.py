"""Token usage in one convention: ``input_tokens`` counts the whole prompt.

``cached_input_tokens`` and ``cache_creation_input_tokens`` are subsets of ``input_tokens``
(the OpenAI convention); the Anthropic surface subtracts them on the way out.
``reasoning_tokens`` is a subset of ``output_tokens``.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Usage:
    input_tokens: int = 0
    output_tokens: int = 0
    cached_input_tokens: int = 0
    cache_creation_input_tokens: int = 0
    reasoning_tokens: int = 0
    cache_creation_1h_input_tokens: int = 0  # the part of the cache writes kept for an hour (Anthropic)

    @property
    def total_tokens(self) -> int:
        return self.input_tokens + self.output_tokens

    @property
    def uncached_input_tokens(self) -> int:
        """Anthropic's ``input_tokens``: the prompt less cache reads and cache writes."""
        return max(0, self.input_tokens - self.cached_input_tokens - self.cache_creation_input_tokens)

    @classmethod
    def from_anthropic(
        cls, input_tokens: int, output_tokens: int, cache_read: int, cache_creation: int, cache_creation_1h: int = 0
    ) -> Usage:
        return cls(
            input_tokens=input_tokens + cache_read + cache_creation,
            output_tokens=output_tokens,
            cached_input_tokens=cache_read,
            cache_creation_input_tokens=cache_creation,
            cache_creation_1h_input_tokens=min(cache_creation_1h, cache_creation),
        )


@dataclass(frozen=True, slots=True)
class EngineStats:
    """What the embedded engine says about one request (for telemetry; never sent to clients)."""

    queue_wait_s: float
    prefill_s: float
    decode_s: float
    drafted_tokens: int = 0
    accepted_tokens: int = 0
