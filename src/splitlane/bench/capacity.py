"""Capacity at an SLO: how many agent sessions an endpoint serves at once before the sessions'
turns stop meeting a service level (``bench capacity``, docs/bench.md#splitlane-bench-capacity).

Each level runs that many sessions concurrently (the trace's sessions, cloned under new ids when
it has fewer), all arriving at once; the level holds when no turn failed and every SLO term held
over its turns: ``ttft_p90=S`` (seconds, at most), ``decode_p50=TPS`` (tokens/s of a turn's
decode, at least), ``ttft_p50``, ``decode_p10`` likewise. Levels rise until one breaks. Goodput is
the turns that met every per-turn bound (TTFT within the TTFT bound, decode at least the decode
bound) per minute of the level's wall time.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from splitlane.bench.replay import ReplayOptions, Target, TurnResult
from splitlane.bench.trace import Session
from splitlane.telemetry.metrics import percentile

TERMS = {"ttft": "s", "decode": "tok/s"}  # what each term bounds, in which unit


@dataclass(frozen=True, slots=True)
class Bound:
    metric: str  # ttft | decode
    q: float  # the percentile
    limit: float

    @property
    def name(self) -> str:
        return f"{self.metric}_p{self.q:g}"

    def holds(self, value: float) -> bool:
        return value <= self.limit if self.metric == "ttft" else value >= self.limit


def parse_slo(text: str) -> tuple[Bound, ...]:
    """``ttft_p90=5,decode_p50=30`` -> its bounds."""
    bounds = []
    for term in filter(None, (t.strip() for t in text.split(","))):
        name, eq, raw = term.partition("=")
        metric, _, q = name.partition("_p")
        if not eq or metric not in TERMS or not q.replace(".", "", 1).isdigit() or not 0 < float(q) <= 100:
            raise ValueError(f"an SLO term is ttft_pQ=SECONDS or decode_pQ=TOKENS_PER_S, got '{term}'")
        try:
            limit = float(raw)
        except ValueError:
            raise ValueError(f"'{term}': the bound must be a number") from None
        bounds.append(Bound(metric, float(q), limit))
    if not bounds:
        raise ValueError("an SLO needs at least one term, e.g. ttft_p90=5,decode_p50=30")
    return tuple(bounds)


@dataclass(frozen=True, slots=True)
class Level:
    sessions: int
    turns: int
    errors: int
    wall_s: float
    values: dict[str, float]  # each bound's measured percentile
    goodput_per_min: float
    ttft_p50: float
    ttft_p90: float
    decode_p50: float

    def holds(self, slo: Sequence[Bound]) -> bool:
        return self.errors == 0 and all(
            not math.isnan(self.values[b.name]) and b.holds(self.values[b.name]) for b in slo
        )


def clones(sessions: Sequence[Session], n: int, level: int) -> list[Session]:
    """``n`` sessions from the trace's, in order, each under an id of its own for this level."""
    out = []
    for i in range(n):
        source = sessions[i % len(sessions)]
        key = f"{source.header.session_id}#L{level}.{i}"
        turns = [t.model_copy(update={"session_id": key}) for t in source.turns]
        out.append(Session(header=source.header.model_copy(update={"session_id": key}), turns=turns))
    return out


def measure(results: Sequence[TurnResult], slo: Sequence[Bound], sessions: int) -> Level:
    done = [r for r in results if r.error is None]
    ttfts = [t for r in done if (t := r.times.ttft_s) is not None]
    decodes = [d for r in done if (d := r.times.decode_tps) is not None]
    series = {"ttft": ttfts, "decode": decodes}
    wall = (max(r.t_last for r in results) - min(r.t_send for r in results)) if results else 0.0
    ttft_limit = min((b.limit for b in slo if b.metric == "ttft"), default=math.inf)
    decode_limit = max((b.limit for b in slo if b.metric == "decode"), default=0.0)

    def good(r: TurnResult) -> bool:
        ttft, tps = r.times.ttft_s, r.times.decode_tps
        return ttft is not None and ttft <= ttft_limit and (tps is None or tps >= decode_limit)

    return Level(
        sessions=sessions,
        turns=len(results),
        errors=len(results) - len(done),
        wall_s=wall,
        values={b.name: percentile(series[b.metric], b.q) for b in slo},
        goodput_per_min=sum(good(r) for r in done) / wall * 60 if wall > 0 else 0.0,
        ttft_p50=percentile(ttfts, 50),
        ttft_p90=percentile(ttfts, 90),
        decode_p50=percentile(decodes, 50),
    )


Replayer = Callable[[Sequence[Session], Sequence[Target], ReplayOptions], list[TurnResult]]


def climb(
    sessions: Sequence[Session],
    target: Target,
    options: ReplayOptions,
    slo: Sequence[Bound],
    levels: Sequence[int],
    replay: Replayer,
    on_level: Callable[[Level], None] = lambda level: None,
) -> list[Level]:
    """Run each level in turn until one breaks the SLO (that one included)."""
    measured: list[Level] = []
    for index, n in enumerate(levels):
        chosen = clones(sessions, n, index)
        level_options = replace(options, concurrency=n, arrivals="none")
        level = measure(replay(chosen, [target], level_options), slo, n)
        measured.append(level)
        on_level(level)
        if not level.holds(slo):
            break
    return measured


def capacity(levels: Sequence[Level], slo: Sequence[Bound]) -> int:
    """The most concurrent sessions of a level that held, every lower one holding too (0: none did)."""
    best = 0
    for level in levels:
        if not level.holds(slo):
            break
        best = level.sessions
    return best
