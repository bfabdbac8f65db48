"""What the engine keeps per KV-cache sequence and per running request."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from splitlane.engine.runner import Sampler
from splitlane.engine.speculation import Acceptance, Lookup
from splitlane.engine.text import TextStream

if TYPE_CHECKING:
    from splitlane.engine.requests import Ticket


@dataclass(slots=True)
class Slot:
    """One KV-cache sequence: the tokens it holds at positions 0..len-1, and who uses it."""

    seq: int
    lookup: Lookup = field(default_factory=Lookup)
    last_used: float = 0.0
    busy: bool = False

    @property
    def tokens(self) -> list[int]:
        return self.lookup.tokens


@dataclass(slots=True)
class Running:
    ticket: Ticket
    slot: Slot
    sampler: Sampler
    text: TextStream
    limit: int
    cached: int
    admitted: float
    speculate: bool
    acceptance: Acceptance = field(default_factory=Acceptance)
    prefilled: int = 0  # prompt tokens in the KV cache
    pending: int | None = None  # sampled, not yet in the KV cache
    produced: int = 0
    first_at: float | None = None
    drafted: int = 0
    accepted: int = 0
    finished: bool = False
    # requests admitted before this one, with how many prompt tokens this one has in common with
    # each: while one of them is still prefilling that common part, this one waits and shares it
    leaders: list[tuple[Running, int]] = field(default_factory=list)

    @property
    def prompt(self) -> list[int]:
        return self.ticket.tokens


def common_prefix(a: list[int], b: list[int]) -> int:
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n
