"""Timing profiles for the simulated upstream: what a provider's latency looks like, in numbers."""

from __future__ import annotations

from dataclasses import dataclass

from splitlane.core.overrides import with_overrides


@dataclass(frozen=True, slots=True)
class SimProfile:
    base_latency_s: float  # request overhead before any prefill (network, scheduling)
    prefill_tps: float  # uncached prompt tokens per second
    cached_prefill_tps: float  # prompt tokens per second when the session's prefix cache holds them
    decode_tps: float  # output tokens per second, per stream
    jitter: float = 0.0  # each delay is multiplied by a uniform factor in [1 - jitter, 1 + jitter]
    concurrency: int = 64  # streams served at once; later requests queue (the wait adds to TTFT)
    output_tokens: int = 400  # reply length when the request sets no max tokens
    chunk_interval_s: float = 0.02  # tokens are sent in chunks at most this often
    # what its tokens cost, USD per million (a provider's list prices, rounded; docs/costs.md)
    price_input: float = 0.0
    price_cached_input: float = 0.0
    price_cache_write: float = 0.0
    price_output: float = 0.0

    def with_overrides(self, overrides: dict[str, str]) -> SimProfile:
        return with_overrides(self, overrides, "sim")


# Named profiles; numbers are orders of magnitude of today's hosted and self-hosted serving, to be
# overridden for what-if questions (`--set decode_tps=1000`).
# Prices: frontier as a Sonnet-class model ($3 / $0.30 cached / $3.75 cache write / $15 out), fast
# and ultrafast as a Haiku-class one ($1 / $0.10 / $1.25 / $5), the MoE pair as an open 1T model
# hosted on a standard ($0.60 / $0.15 / $0.60 / $2.50) and a speed-optimized stack ($1 / $0.50 / $1 / $3).
PROFILES = {
    "frontier": SimProfile(
        base_latency_s=0.6,
        prefill_tps=5_000,
        cached_prefill_tps=50_000,
        decode_tps=50,
        price_input=3.0,
        price_cached_input=0.3,
        price_cache_write=3.75,
        price_output=15.0,
    ),
    "fast": SimProfile(
        base_latency_s=0.25,
        prefill_tps=20_000,
        cached_prefill_tps=200_000,
        decode_tps=150,
        price_input=1.0,
        price_cached_input=0.1,
        price_cache_write=1.25,
        price_output=5.0,
    ),
    "ultrafast": SimProfile(
        base_latency_s=0.15,
        prefill_tps=40_000,
        cached_prefill_tps=400_000,
        decode_tps=1_000,
        price_input=1.0,
        price_cached_input=0.1,
        price_cache_write=1.25,
        price_output=5.0,
    ),
    # One 1T-parameter MoE model on a standard and on a speed-optimized serving stack (the published
    # comparison in TRACES.md; the derivation is in docs/bench.md): same prefill, 10x the decode rate.
    "moe-standard": SimProfile(
        base_latency_s=0.5,
        prefill_tps=3_000,
        cached_prefill_tps=1_000_000,
        decode_tps=123,
        jitter=0.1,
        price_input=0.6,
        price_cached_input=0.15,
        price_cache_write=0.6,
        price_output=2.5,
    ),
    "moe-speedstack": SimProfile(
        base_latency_s=0.5,
        prefill_tps=3_000,
        cached_prefill_tps=1_000_000,
        decode_tps=1_230,
        jitter=0.1,
        price_input=1.0,
        price_cached_input=0.5,
        price_cache_write=1.0,
        price_output=3.0,
    ),
    # near-instant: for gateway overhead and load tests
    "instant": SimProfile(
        base_latency_s=0.0,
        prefill_tps=1e9,
        cached_prefill_tps=1e9,
        decode_tps=1e6,
        concurrency=10_000,
        output_tokens=64,
        chunk_interval_s=0.0,
    ),
}


def load_profile(name: str, overrides: dict[str, str] | None = None) -> SimProfile:
    if name not in PROFILES:
        raise ValueError(f"unknown sim profile '{name}' (known: {', '.join(PROFILES)})")
    return PROFILES[name].with_overrides(overrides or {})
