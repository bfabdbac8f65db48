"""``splitlane bench cache``: what the gateway does to a provider's prompt cache, measured.

One synthetic agent session shape (40 turns by default, a 10–70K-token opening context growing
every turn) is replayed against four endpoints at once, each in front of a simulated provider of
its own with Anthropic's explicit caching (only prefixes ending at a ``cache_control`` mark are
cached; upstream/sim/cache.py):

- ``direct``: a Messages client (breakpoints placed as Claude Code places them) straight to the sim;
- ``via``: the same client through splitlane (a same-protocol hop, forwarded as sent);
- ``chat-auto``: a Chat Completions client through splitlane to the Anthropic-kind sim, the
  gateway adding breakpoints (``cache.breakpoints = "auto"``, the default);
- ``chat-off``: the same with ``cache.breakpoints = "off"`` (what the gateway did before: none).

The baselines are named and run side by side: ``via`` against ``direct`` (cache hit ratio within 2
points, TTFT P50 within 5 %), ``chat-auto`` against ``chat-off``. Each sim's ledger says what the
provider would bill: prompt tokens at the input price, at the cache-read price and at the
cache-write price. Gateways run as ``splitlane serve`` processes; the sims in this process, so
their ledgers can be read.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from contextlib import AbstractContextManager, ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from splitlane.api.app import create_app
from splitlane.bench.in_process import serve_in_thread, sim_settings
from splitlane.bench.overhead import servers
from splitlane.bench.processes import Server
from splitlane.bench.replay import Target, TurnResult
from splitlane.upstream.sim.adapter import SimUpstream
from splitlane.upstream.sim.cache import CacheLedger

# Anthropic's prices relative to base input: a cache read, a 5-minute cache write
READ_PRICE, WRITE_PRICE = 0.1, 1.25


@dataclass(frozen=True, slots=True)
class Case:
    name: str
    api: str  # what the replaying client speaks
    breakpoints: str | None  # the gateway's cache.breakpoints; None: no gateway (straight to the sim)
    says: str


CASES = (
    Case("direct", "messages", None, "Messages client -> sim"),
    Case("via", "messages", "auto", "Messages client -> splitlane -> sim"),
    Case("chat-auto", "chat", "auto", "Chat client -> splitlane (breakpoints auto) -> sim"),
    Case("chat-off", "chat", "off", "Chat client -> splitlane (breakpoints off) -> sim"),
)
PAIRS = (("via", "direct"), ("chat-auto", "chat-off"))  # (measured, its baseline)


@dataclass(frozen=True, slots=True)
class CaseResult:
    case: Case
    hit_ratio_after_first: float  # cache reads / prompt tokens over every turn but each session's first
    ttft_p50_s: float
    ttft_p90_s: float
    turns: int
    errors: int
    ledger: CacheLedger

    @property
    def billed_input(self) -> float:
        """The prompt's cost in base-input-token units."""
        ledger = self.ledger
        return ledger.uncached_tokens + READ_PRICE * ledger.read_tokens + WRITE_PRICE * ledger.write_tokens

    def record(self) -> dict[str, Any]:
        return {
            "target": self.case.name,
            "path": self.case.says,
            "turns": self.turns,
            "errors": self.errors,
            "cache_hit_ratio_after_first": round(self.hit_ratio_after_first, 4),
            "ttft_p50_s": round(self.ttft_p50_s, 4),
            "ttft_p90_s": round(self.ttft_p90_s, 4),
            "prompt_tokens": self.ledger.prompt_tokens,
            "billed_uncached_tokens": self.ledger.uncached_tokens,
            "billed_cache_read_tokens": self.ledger.read_tokens,
            "billed_cache_write_tokens": self.ledger.write_tokens,
            "billed_input_base_units": round(self.billed_input),
        }


def gateway_config(sim_url: str, breakpoints: str, data_dir: Path) -> str:
    return (
        f'data_dir = "{data_dir}"\n\n'
        "[upstreams.sim]\n"
        'kind = "anthropic"\n'
        f'base_url = "{sim_url}"\n'
        "idle_timeout_s = 900\n"
        f'cache = {{ breakpoints = "{breakpoints}" }}\n\n'
        "[models.bench]\n"
        'upstream = "sim"\n'
    )


def gateway(workdir: Path, name: str, sim_url: str, breakpoints: str) -> AbstractContextManager[Server]:
    """``splitlane serve`` in front of one sim, as a user runs it."""
    return servers.serve(workdir, name, gateway_config(sim_url, breakpoints, workdir / f"{name}-data"))


def start(
    cases: Sequence[Case], profile: str, overrides: dict[str, str], workdir: Path, stack: ExitStack
) -> tuple[list[Target], dict[str, CacheLedger]]:
    """Each case's sim (in this process) and gateway (a process); the replay targets and the sims' ledgers."""
    targets: list[Target] = []
    ledgers: dict[str, CacheLedger] = {}
    for case in cases:
        app = create_app(sim_settings(profile, overrides).model_copy(update={"data_dir": workdir / f"{case.name}-sim"}))
        sim_url = stack.enter_context(serve_in_thread(app))
        upstream = app.state.services.replicas["sim"][0].upstream
        assert isinstance(upstream, SimUpstream)
        ledgers[case.name] = upstream.ledger
        url = sim_url
        if case.breakpoints is not None:
            url = stack.enter_context(gateway(workdir, case.name, sim_url, case.breakpoints)).url
        targets.append(Target(case.name, url, case.api, "bench"))  # type: ignore[arg-type]
    return targets, ledgers


def summarize(
    cases: Sequence[Case], results: Sequence[TurnResult], ledgers: dict[str, CacheLedger]
) -> list[CaseResult]:
    out = []
    for case in cases:
        mine = [r for r in results if r.target == case.name]
        later = [r for r in mine if r.turn_index > 0 and r.error is None]
        prompt = sum(r.prompt_tokens for r in later)
        ttfts = sorted(r.t_first - r.t_send for r in mine if r.t_first is not None)
        out.append(
            CaseResult(
                case,
                sum(r.cached_tokens for r in later) / prompt if prompt else 0.0,
                statistics.median(ttfts) if ttfts else float("nan"),
                _quantile(ttfts, 0.9),
                len(mine),
                sum(1 for r in mine if r.error),
                ledgers[case.name],
            )
        )
    return out


def _quantile(values: Sequence[float], q: float) -> float:
    if not values:
        return float("nan")
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[round(q * 100) - 1]


def comparisons(results: Sequence[CaseResult]) -> list[dict[str, Any]]:
    """Each measured case against its named baseline: hit-ratio points, TTFT and billed-input ratios."""
    by_name = {r.case.name: r for r in results}
    rows = []
    for measured, baseline in PAIRS:
        if measured not in by_name or baseline not in by_name:
            continue
        m, b = by_name[measured], by_name[baseline]
        rows.append(
            {
                "measured": measured,
                "baseline": baseline,
                "hit_ratio_points": round(100 * (m.hit_ratio_after_first - b.hit_ratio_after_first), 2),
                "ttft_p50_ratio": round(m.ttft_p50_s / b.ttft_p50_s, 4) if b.ttft_p50_s else float("nan"),
                "billed_input_ratio": round(m.billed_input / b.billed_input, 4) if b.billed_input else float("nan"),
            }
        )
    return rows
