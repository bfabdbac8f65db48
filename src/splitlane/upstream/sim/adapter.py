"""Upstream kind ``sim``: answers any request with filler text whose timing follows a profile.

Per request: wait for a concurrency slot (queueing), then base latency + prefill of the prompt
(tokens its prompt cache holds count at the cached rate: upstream/sim/cache.py), then
output tokens at the decode rate, sent in chunks. Served through the ordinary surfaces, so one
sim speaks all three APIs.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncGenerator

from splitlane.config import UpstreamConfig
from splitlane.core.blocks import BlockWriter
from splitlane.core.events import Event, StopReason, UsageUpdate
from splitlane.core.request import ChatRequest
from splitlane.core.usage import Usage
from splitlane.sessions.identify import identify
from splitlane.sim_profiles import SimProfile, load_profile
from splitlane.upstream.estimate import estimate_input_tokens
from splitlane.upstream.sim.cache import CacheLedger, CacheUse, PromptCache

FILLER = " tok"  # about one token each
MAX_SESSIONS = 10_000


def schedule(
    profile: SimProfile, input_tokens: int, cached_tokens: int, output_tokens: int
) -> tuple[float, list[tuple[int, float]]]:
    """Seconds until the first token (base latency + prefill, cached tokens at the cached rate), then
    (tokens, delay before them) chunks: the first token ends prefill, the rest come at the decode rate."""
    prefill_s = (input_tokens - cached_tokens) / profile.prefill_tps + cached_tokens / profile.cached_prefill_tps
    per_chunk = max(1, round(profile.chunk_interval_s * profile.decode_tps))
    chunks = [(1, 0.0)]
    sent = 1
    while sent < output_tokens:
        n = min(per_chunk, output_tokens - sent)
        chunks.append((n, n / profile.decode_tps))
        sent += n
    return profile.base_latency_s + prefill_s, chunks


class SimUpstream:
    kind = "sim"

    def __init__(self, name: str, config: UpstreamConfig, default_max_tokens: int = 4096) -> None:
        self.name = name
        self.profile: SimProfile = load_profile(config.sim_profile, config.sim)
        self._slots = asyncio.Semaphore(self.profile.concurrency)
        self.cache = PromptCache()
        self.ledger = CacheLedger()
        self._random = random.Random(config.sim_seed)

    def _cache_use(self, request: ChatRequest) -> CacheUse:
        """Anthropic's explicit caching for a Messages request, OpenAI's automatic one otherwise."""
        if request.surface == "messages":
            return self.cache.explicit(request)
        key = request.extensions.get("prompt_cache_key")
        return self.cache.automatic(request, key if isinstance(key, str) and key else identify(request).key)

    def _jittered(self, seconds: float) -> float:
        j = self.profile.jitter
        return seconds * (1 + self._random.uniform(-j, j)) if j else seconds

    async def stream(self, request: ChatRequest) -> AsyncGenerator[Event, None]:
        profile = self.profile
        input_tokens = estimate_input_tokens(request)
        use = self._cache_use(request)
        cached = min(use.read_tokens, input_tokens)
        written = min(use.write_tokens, input_tokens - cached)
        self.ledger.add(input_tokens, cached, written)
        output_tokens = max(1, request.max_output_tokens or profile.output_tokens)
        first_s, chunks = schedule(profile, input_tokens, cached, output_tokens)
        loop = asyncio.get_running_loop()
        async with self._slots:
            # Sleep to absolute deadlines, so a late wake-up (a busy loop) does not pile up over a
            # stream: the rate stays the profile's.
            deadline = loop.time() + self._jittered(first_s)
            await asyncio.sleep(deadline - loop.time())
            yield UsageUpdate(Usage(input_tokens, 0, cached, written))
            blocks = BlockWriter()
            for tokens, delay_s in chunks:
                if delay_s:
                    deadline += self._jittered(delay_s)
                    await asyncio.sleep(max(0.0, deadline - loop.time()))
                for event in blocks.text(FILLER * tokens):
                    yield event
            final = Usage(input_tokens, output_tokens, cached, written)
            for event in blocks.finish(StopReason.END_TURN, final):
                yield event

    def relays(self, request: ChatRequest) -> bool:
        return False

    async def count_tokens(self, request: ChatRequest) -> int:
        return estimate_input_tokens(request)

    async def aclose(self) -> None:
        return None
