"""Which replica of an upstream serves a turn, by the upstream's ``routing`` policy:

- ``session`` (default): rendezvous hashing of the session id (routing/affinity.py) — a session
  stays on one replica, whose prefix cache then holds its context; blind to load;
- ``prefix``: the replica expected to hold the longest prefix of this prompt (the gateway's own
  record of what it sent where, routing/prefixes.py); a prompt nothing holds goes to the least
  loaded; when loads drift apart by more than ``balance.imbalance`` turns, the least loaded wins
  whatever it holds (the rule SGLang's cache-aware router uses);
- ``least_loaded``: the replica with the fewest turns in flight plus reported waiting requests;
- ``round_robin``: each turn to the next replica (the baseline the others are measured against).

Ties go by the session's rendezvous order, so equal replicas still keep a session in one place.
Every policy ranks all replicas: the ones after the first are the turn's next targets when the
first fails before its first byte (a replica that died), before the model's own fallbacks.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from splitlane.config import UpstreamConfig
from splitlane.core.request import ChatRequest
from splitlane.routing.affinity import score
from splitlane.routing.load import LoadBoard
from splitlane.routing.prefixes import PrefixIndex, block_hashes


@dataclass(frozen=True, slots=True)
class Pick:
    """Why a replica was chosen: the policy, a score (higher is better) and the figures behind it."""

    policy: str
    score: float
    reason: str


SINGLE = Pick("single", 1.0, "the upstream's only replica")


@dataclass(frozen=True, slots=True)
class Ranking:
    """Replica indexes best first, each with its pick; the prompt's block hashes where the policy
    read them (recorded for the replica that answers: ``Planner.answered``)."""

    picks: list[tuple[int, Pick]]
    prefix: tuple[bytes, ...] = ()


class Balancer:
    """The routing state shared by every turn: loads, prefix records, round-robin counters."""

    def __init__(self, board: LoadBoard | None = None) -> None:
        self.board = board if board is not None else LoadBoard()
        self._prefixes: dict[str, PrefixIndex] = {}
        self._turns: dict[str, itertools.count[int]] = defaultdict(itertools.count)

    def prefixes(self, name: str, upstream: UpstreamConfig) -> PrefixIndex:
        index = self._prefixes.get(name)
        if index is None:
            index = self._prefixes[name] = PrefixIndex(upstream.balance.prefix_ttl_s)
        return index

    def rank(
        self,
        name: str,
        upstream: UpstreamConfig,
        urls: Sequence[str],
        session_key: str,
        request: ChatRequest,
        observe: bool = True,
    ) -> Ranking:
        """Every replica, best first, each with why; ``observe``: a real turn (round robin counts it)."""
        if len(urls) == 1:
            return Ranking([(0, SINGLE)])
        order = sorted(range(len(urls)), key=lambda i: score(session_key, urls[i]), reverse=True)
        policy = upstream.routing
        if policy == "session":
            return Ranking([(i, Pick("session", float(-n), "session affinity")) for n, i in enumerate(order)])
        if policy == "round_robin":
            turn = next(self._turns[name]) if observe else 0
            rotated = [(turn + k) % len(urls) for k in range(len(urls))]
            return Ranking([(i, Pick("round_robin", float(-n), f"turn {turn}")) for n, i in enumerate(rotated)])
        loads = [self.board.load(url) for url in urls]
        if policy == "least_loaded":
            ranked = sorted(order, key=lambda i: loads[i])
            return Ranking([(i, Pick("least_loaded", -loads[i], f"load {loads[i]:g}")) for i in ranked])
        return self._by_prefix(name, upstream, urls, request, order, loads)

    def _by_prefix(
        self,
        name: str,
        upstream: UpstreamConfig,
        urls: Sequence[str],
        request: ChatRequest,
        order: list[int],
        loads: list[float],
    ) -> Ranking:
        index = self.prefixes(name, upstream)
        hashes = block_hashes(request, upstream.balance.block_chars)
        matched = [index.matched(hashes, url) for url in urls]
        total = max(1, len(hashes))
        least = min(loads)
        imbalanced = max(loads) - least > upstream.balance.imbalance
        ranked: list[tuple[int, Pick]] = []
        for i in order:
            share = matched[i] / total
            figures = f"{matched[i]}/{len(hashes)} prefix blocks held, load {loads[i]:g}"
            if imbalanced:
                ranked.append((i, Pick("prefix", -loads[i], f"imbalance: least loaded first; {figures}")))
            else:
                ranked.append((i, Pick("prefix", share - loads[i] / (1000.0 * total), figures)))
        ranked.sort(key=lambda pair: pair[1].score, reverse=True)
        if not imbalanced and max(matched) == 0:
            ranked = [
                (i, Pick("prefix", -loads[i], f"no replica holds this prefix: least loaded; load {loads[i]:g}"))
                for i in sorted(order, key=lambda i: loads[i])
            ]
        return Ranking(ranked, tuple(hashes))
