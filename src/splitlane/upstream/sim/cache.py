"""The simulator's prompt cache, with each API's semantics, so a replay shows what a lost
breakpoint costs in time to first token and in billed input.

- ``explicit`` (Anthropic): only prefixes that end at a ``cache_control`` mark are written; a
  request reads the longest cached prefix ending at one of its marks or at any of the 20 blocks
  before a mark (Anthropic's lookback); entries live for their TTL (5 min, or 1 h), refreshed on
  every read. Reads and writes come back as ``cache_read`` / ``cache_creation`` tokens.
- ``automatic`` (OpenAI): every prompt's prefix is kept, per ``prompt_cache_key`` when the client
  gives one (else per session), and the next prompt reads its longest common block prefix.

A block is a tool definition, a system block or one message part; token counts are the gateway's
estimate (upstream/estimate.py).
"""

from __future__ import annotations

import hashlib
import time
from collections import OrderedDict
from dataclasses import dataclass, replace

from splitlane.core.parts import CacheHint
from splitlane.core.request import ChatRequest
from splitlane.upstream.estimate import TOKENS_PER_MESSAGE, part_tokens, tool_tokens

LOOKBACK_BLOCKS = 20
TTL_S = {"5m": 300.0, "1h": 3600.0}
MAX_ENTRIES = 100_000


@dataclass(frozen=True, slots=True)
class Block:
    digest: bytes  # of the whole prefix up to and including this block
    end_tokens: int  # prompt tokens up to and including this block
    mark: CacheHint | None


def blocks(request: ChatRequest) -> list[Block]:
    out: list[Block] = []
    digest = hashlib.blake2b(digest_size=16)
    tokens = 0

    def add(text: str, n: int, mark: CacheHint | None) -> None:
        nonlocal tokens
        digest.update(text.encode())
        tokens += n
        out.append(Block(digest.copy().digest(), tokens, mark))

    for tool in request.tools:
        add(repr(replace(tool, cache=None)), tool_tokens(tool), tool.cache)
    for message in request.messages:
        tokens += TOKENS_PER_MESSAGE
        digest.update(str(message.role).encode())
        for part in message.parts:
            mark: CacheHint | None = getattr(part, "cache", None)
            unmarked = part if mark is None else replace(part, cache=None)  # type: ignore[arg-type]
            add(repr(unmarked), part_tokens(part), mark)  # the mark itself is no part of the prefix
    if request.cache is not None and out:  # a mark on the whole prompt: its last block
        out[-1] = replace(out[-1], mark=request.cache)
    return out


@dataclass(frozen=True, slots=True)
class CacheUse:
    read_tokens: int = 0
    write_tokens: int = 0


@dataclass(slots=True)
class CacheLedger:
    """What the simulated provider would bill: prompt tokens at each input rate, over its life."""

    requests: int = 0
    prompt_tokens: int = 0
    read_tokens: int = 0  # cache reads (Anthropic: 0.1x the input price)
    write_tokens: int = 0  # cache writes (Anthropic: 1.25x for 5 minutes, 2x for 1 hour)

    def add(self, prompt_tokens: int, read_tokens: int, write_tokens: int) -> None:
        self.requests += 1
        self.prompt_tokens += prompt_tokens
        self.read_tokens += read_tokens
        self.write_tokens += write_tokens

    @property
    def uncached_tokens(self) -> int:
        return self.prompt_tokens - self.read_tokens - self.write_tokens


class PromptCache:
    def __init__(self) -> None:
        self._entries: OrderedDict[bytes, tuple[float, float]] = OrderedDict()  # digest -> (expiry, ttl)
        self._prompts: OrderedDict[str, list[bytes]] = OrderedDict()  # automatic: key -> last prompt's digests
        self._now = time.monotonic

    def explicit(self, request: ChatRequest) -> CacheUse:
        now = self._now()
        chain = blocks(request)
        marks = [i for i, b in enumerate(chain) if b.mark is not None]
        read = 0
        for mark in marks:
            for k in range(mark, max(-1, mark - LOOKBACK_BLOCKS - 1), -1):
                entry = self._entries.get(chain[k].digest)
                if entry is not None and entry[0] > now:
                    if chain[k].end_tokens > read:
                        read = chain[k].end_tokens
                    self._entries[chain[k].digest] = (now + entry[1], entry[1])  # a read refreshes it
                    break
        written = 0
        for mark in marks:
            block = chain[mark]
            ttl = TTL_S.get(block.mark.ttl or "5m", TTL_S["5m"]) if block.mark else TTL_S["5m"]
            if block.end_tokens > read:
                written = max(written, block.end_tokens - read)
            self._entries[block.digest] = (now + ttl, ttl)
            self._entries.move_to_end(block.digest)
        while len(self._entries) > MAX_ENTRIES:
            self._entries.popitem(last=False)
        return CacheUse(read, written)

    def automatic(self, request: ChatRequest, key: str) -> CacheUse:
        chain = blocks(request)
        previous = self._prompts.pop(key, [])
        self._prompts[key] = [b.digest for b in chain]
        while len(self._prompts) > MAX_ENTRIES:
            self._prompts.popitem(last=False)
        read = 0
        for block, old in zip(chain, previous, strict=False):
            if block.digest != old:
                break
            read = block.end_tokens
        return CacheUse(read, 0)
