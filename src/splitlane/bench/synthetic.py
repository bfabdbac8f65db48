"""Seeded synthetic agent sessions whose shape follows published measurements (TRACES.md).

Defaults: turns log-normal around 50 (tail past 200), a 10–70K-token opening prompt growing by
~0.5–6K tokens a turn (mostly tool output), right-skewed outputs of 100–550 tokens, heavy-tailed
tool gaps (p50 0.3 s, p90 14 s, capped). ``speedstack`` matches the published standard-vs-10x-decode
comparison: 60 turns, ~397 output tokens a turn. Content is synthesized at replay (``synthetic``
content mode), so a trace of a hundred sessions is a few hundred kilobytes.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, fields

from splitlane.bench.trace import FileHeader, Session, SessionLine, Source, TurnInput, TurnLine, TurnOutput, TurnTiming
from splitlane.core.overrides import with_overrides

Z90 = 1.2815515655446004  # the standard normal's 90th percentile


@dataclass(frozen=True, slots=True)
class SyntheticSpec:
    sessions: int = 8
    turns_median: float = 50
    turns_sigma: float = 0.6  # log-normal spread of turns per session; 0 = every session the same
    turns_min: int = 5
    turns_max: int = 250
    initial_tokens_min: int = 10_000
    initial_tokens_max: int = 70_000
    growth_tokens_median: float = 1_500
    growth_tokens_sigma: float = 0.8
    output_tokens_median: float = 330
    output_tokens_sigma: float = 0.55  # mean ≈ median · e^(σ²/2) ≈ 385
    output_tokens_max: int = 4_000
    gap_p50_s: float = 0.3
    gap_p90_s: float = 14.0
    gap_cap_s: float = 300.0
    arrival_rate_per_s: float = 0.0  # Poisson session arrivals; 0 = all sessions start together
    max_prompt_tokens: int = 200_000
    plan_turns: int = 0  # the opening turns of each session in plan mode (0: no mode marked)

    def with_overrides(self, overrides: dict[str, str]) -> SyntheticSpec:
        return with_overrides(self, overrides, "synthetic")


PRESETS = {
    "agentic": SyntheticSpec(),
    # The published comparison: 60 turns, ~397 output tokens a turn (≈23.8K a session); gaps sized so
    # tools and prefill take the ~269 s a session that both stacks share (docs/bench.md).
    "speedstack": SyntheticSpec(
        turns_median=60,
        turns_sigma=0,
        initial_tokens_min=15_000,
        initial_tokens_max=30_000,
        growth_tokens_median=1_200,
        output_tokens_median=350,
        output_tokens_sigma=0.5,
        gap_p50_s=1.0,
        gap_p90_s=8.0,
        gap_cap_s=60.0,
    ),
    # small enough for the embedded 270M engine on two cores (the README demo)
    "tiny": SyntheticSpec(
        sessions=4,
        turns_median=6,
        turns_sigma=0,
        initial_tokens_min=300,
        initial_tokens_max=600,
        growth_tokens_median=80,
        growth_tokens_sigma=0.5,
        output_tokens_median=48,
        output_tokens_sigma=0.3,
        gap_p50_s=0.3,
        gap_p90_s=2.0,
        gap_cap_s=5.0,
    ),
}


def _mode(spec: SyntheticSpec, index: int) -> str | None:
    if not spec.plan_turns:
        return None
    return "plan" if index < spec.plan_turns else "act"


def _lognormal(rng: random.Random, median: float, sigma: float) -> float:
    return median * math.exp(rng.gauss(0, sigma)) if sigma > 0 else median


def generate(spec: SyntheticSpec, seed: int = 0, preset: str = "custom") -> tuple[FileHeader, list[Session]]:
    rng = random.Random(seed)
    gap_sigma = math.log(spec.gap_p90_s / spec.gap_p50_s) / Z90 if spec.gap_p90_s > spec.gap_p50_s else 0.0
    sessions = []
    arrival = 0.0
    for n in range(spec.sessions):
        session_id = f"synthetic:{seed}:{n}"
        turns_n = round(_lognormal(rng, spec.turns_median, spec.turns_sigma))
        turns_n = min(spec.turns_max, max(spec.turns_min, turns_n))
        prompt = rng.randint(spec.initial_tokens_min, spec.initial_tokens_max)
        turns: list[TurnLine] = []
        for i in range(turns_n):
            new = prompt if i == 0 else round(_lognormal(rng, spec.growth_tokens_median, spec.growth_tokens_sigma))
            if i:
                prompt = min(spec.max_prompt_tokens, prompt + new + turns[-1].output.completion_tokens)
            output = max(
                1,
                min(
                    spec.output_tokens_max, round(_lognormal(rng, spec.output_tokens_median, spec.output_tokens_sigma))
                ),
            )
            gap = min(spec.gap_cap_s, _lognormal(rng, spec.gap_p50_s, gap_sigma)) if i < turns_n - 1 else None
            turns.append(
                TurnLine(
                    session_id=session_id,
                    turn_index=i,
                    input=TurnInput(
                        prompt_tokens=prompt, prompt_tokens_source="trace", new_tokens=new, mode=_mode(spec, i)
                    ),
                    output=TurnOutput(completion_tokens=output, stop_reason="tool_calls", max_tokens=output),
                    timing=TurnTiming(gap_after=gap, gap_kind="tool" if gap is not None else None),
                )
            )
        header = SessionLine(
            session_id=session_id,
            source=Source(kind="synthetic", uri=f"splitlane bench synth --preset {preset} --seed {seed}"),
            content_mode="synthetic",
            arrival_offset_s=arrival,
            tags={"preset": preset},
        )
        sessions.append(Session(header=header, turns=turns))
        if spec.arrival_rate_per_s > 0:
            arrival += rng.expovariate(spec.arrival_rate_per_s)
    notes = f"synthetic ({preset}, seed {seed}): " + ", ".join(
        f"{f.name}={getattr(spec, f.name)}" for f in fields(spec)
    )
    return FileHeader(
        created_by="splitlane bench synth", token_count_unit="target_tokens_estimated", notes=notes
    ), sessions
