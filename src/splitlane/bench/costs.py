"""What a benchmark target's sessions cost: its price (a sim profile's, free for the embedded
engine, the price dataset's for a provider URL) applied to the tokens each replayed turn used.

A URL on loopback — often a splitlane gateway, which may forward to a paid provider — has no price
here (shown as unknown): that gateway's own ``splitlane report`` has its costs.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from urllib.parse import parse_qsl, urlsplit

from splitlane.bench.replay import Target, TurnResult
from splitlane.config import UpstreamConfig
from splitlane.telemetry.prices import FREE, Priced, Tokens, cost_usd, dataset_price, self_hosted, upstream_price


def target_price(target: Target) -> Priced | None:
    """``target`` as given on the command line (before ``sim:`` / ``embedded`` were started)."""
    if target.url.startswith("sim:"):
        parts = urlsplit(target.url)
        sim = UpstreamConfig(kind="sim", sim_profile=parts.path or "fast", sim=dict(parse_qsl(parts.query)))
        return upstream_price(sim, target.model)
    if target.url.split("?")[0] == "embedded":
        return FREE
    return None if self_hosted(target.url) else dataset_price(target.model, target.url)


def session_costs(results: Sequence[TurnResult], prices: dict[str, Priced | None]) -> dict[str, dict[str, float]]:
    """Per target: mean cost per session and per 1K output tokens (NaN where the price is unknown)."""
    spent: dict[str, float] = defaultdict(float)
    sessions: dict[str, set[str]] = defaultdict(set)
    output: dict[str, int] = defaultdict(int)
    for r in results:
        turn = Tokens(input=r.prompt_tokens, output=r.completion_tokens, cache_read=r.cached_tokens)
        spent[r.target] += cost_usd(prices.get(r.target), turn) or 0.0
        sessions[r.target].add(r.session_id)
        output[r.target] += r.completion_tokens
    out = {}
    for name, price in prices.items():
        known = price is not None and bool(sessions[name])
        out[name] = {
            "mean_session_cost_usd": spent[name] / len(sessions[name]) if known else math.nan,
            "cost_per_1k_output_usd": spent[name] / output[name] * 1000 if known and output[name] else math.nan,
        }
    return out
