"""``splitlane bench engine``: our engine against llama-cpp-python (B1 in process, B2 its server)
on W1/W2/W3, one run, same model file and thread count, greedy; prints ratios."""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import statistics
import time
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from splitlane.bench.engine import workloads
from splitlane.bench.engine.targets import B1, B2, Ours, Result, Target, b2_server
from splitlane.core.errors import SplitlaneError
from splitlane.engine.runner import RunnerConfig

Say = Callable[[str], object]


@dataclass(frozen=True, slots=True)
class Settings:
    model_path: Path
    workdir: Path
    n_threads: int = 2
    n_ctx: int = 20480
    w1_trace: Path = workloads.W1_TRACE
    w1_turns: int | None = None
    w2_tokens: int = 512
    w3_tokens: int = 256
    concurrent: int = 4
    baselines: tuple[str, ...] = ("b1", "b2")
    workloads: tuple[str, ...] = ("w1", "w2", "w3", "concurrent")


@dataclass
class Outcome:
    """Every request's result by target and workload, plus the headline figures."""

    results: dict[str, dict[str, list[list[Result]]]] = field(default_factory=dict)
    figures: dict[str, float | None] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def add(self, target: str, workload: str, session: list[Result]) -> None:
        self.results.setdefault(target, {}).setdefault(workload, []).append(session)

    def sessions(self, target: str, workload: str) -> list[list[Result]]:
        return self.results.get(target, {}).get(workload, [])

    def to_json(self) -> dict[str, Any]:
        return {
            "figures": self.figures,
            "notes": self.notes,
            "results": {
                t: {w: [[asdict(r) | {"text": r.text[:200]} for r in s] for s in ss] for w, ss in by.items()}
                for t, by in self.results.items()
            },
        }


def decode_tps(sessions: Sequence[Sequence[Result]]) -> float | None:
    """Output tokens after the first over the time after it, summed over every request."""
    tokens = sum(max(0, r.output_tokens - 1) for s in sessions for r in s if r.ttft_s is not None)
    seconds = sum(r.wall_s - r.ttft_s for s in sessions for r in s if r.ttft_s is not None)
    return tokens / seconds if seconds > 0 else None


def session_wall(sessions: Sequence[Sequence[Result]]) -> float:
    return sum(r.wall_s for s in sessions for r in s)


def _ratio(a: float | None, b: float | None) -> float | None:
    return a / b if a is not None and b else None


async def _session(target: Target, session: workloads.Session, tick: Callable[[], None]) -> list[Result]:
    out = []
    for request in session.requests:
        out.append(await target.complete(request.prompt, request.max_tokens))
        tick()
    return out


async def run(settings: Settings, say: Say, tick: Callable[[str, int], None]) -> Outcome:
    """``tick(label, requests)`` reports progress: the label of what runs, requests just done."""
    outcome = Outcome()
    config = RunnerConfig(
        settings.model_path,
        n_ctx=settings.n_ctx,
        n_seq=settings.concurrent + 1,
        kv_cells=settings.n_ctx * 2,
        n_threads=settings.n_threads,
    )
    ours = Ours(config)
    render = workloads.renderer(await ours.metadata())
    work: dict[str, list[workloads.Session]] = {}
    if "w2" in settings.workloads:
        work["W2"] = workloads.w2(render, settings.w2_tokens)
    if "w3" in settings.workloads:
        work["W3"] = workloads.w3(render, settings.w3_tokens)
    if "w1" in settings.workloads:
        work["W1"] = [workloads.w1(render, settings.w1_trace, settings.w1_turns)]
    targets: list[Target] = [ours, Ours(config, speculate=False, name="splitlane (no speculation)")]
    try:
        if "b1" in settings.baselines:
            say("loading B1 (Llama.create_completion)")
            targets.append(B1(settings.model_path, settings.n_ctx, settings.n_threads))
        with ExitStack() as stack:
            b2 = None
            if "b2" in settings.baselines:
                say("starting B2 (python -m llama_cpp.server)")
                url = stack.enter_context(
                    b2_server(settings.workdir, settings.model_path, settings.n_ctx, settings.n_threads)
                )
                b2 = B2(url)
                targets.append(b2)
            for name, sessions in work.items():
                for target in targets:
                    if name == "W1" and target.name == "splitlane (no speculation)":
                        continue  # the ablation covers W2/W3; W1 is long
                    for session in sessions:
                        step = functools.partial(tick, f"{name} · {target.name}", 1)
                        outcome.add(target.name, name, await _session(target, session, step))
            if b2 is not None:
                await b2.aclose()
        if "W1" in work:
            await _cold_check(settings, config, work["W1"][0], outcome, say)
        if "concurrent" in settings.workloads and settings.concurrent > 1:
            await _concurrent(settings, config, render, outcome, tick)
    finally:
        for target in targets:
            target.close()
    _figures(outcome)
    return outcome


async def _cold_check(
    settings: Settings, config: RunnerConfig, w1: workloads.Session, outcome: Outcome, say: Say
) -> None:
    """Cold TTFT of the last W1 turn that appended ≤10% new tokens, on a fresh engine."""
    probe = Ours(config)
    try:
        runner = await probe._engine.runner()
        sizes = [len(runner.tokenize(r.prompt)) for r in w1.requests]
        warm = outcome.sessions("splitlane", "W1")
        small = [i for i in range(1, len(sizes)) if sizes[i] - sizes[i - 1] <= 0.10 * sizes[i]]
        if not warm or not small:
            outcome.notes.append("no W1 turn appended ≤10% new tokens: warm/cold TTFT not measured")
            return
        i = small[-1]
        say(f"cold TTFT of W1 turn {i + 1} ({sizes[i]} tokens, {sizes[i] - sizes[i - 1]} new) on a fresh engine")
        cold = await probe.complete(w1.requests[i].prompt, 1)
        outcome.figures["w1_cold_turn"] = i + 1
        outcome.figures["w1_cold_ttft_s"] = cold.ttft_s
        outcome.figures["w1_warm_ttft_s"] = warm[0][i].ttft_s
        outcome.figures["w1_warm_new_tokens"] = sizes[i] - sizes[i - 1]
        outcome.figures["w1_prompt_tokens"] = sizes[i]
    finally:
        probe.close()


async def _concurrent(
    settings: Settings,
    config: RunnerConfig,
    render: workloads.Render,
    outcome: Outcome,
    tick: Callable[[str, int], None],
) -> None:
    """N copies of W1 at once on a fresh engine (sharing the system prompt and demonstration)."""
    sessions = [
        workloads.w1(render, settings.w1_trace, settings.w1_turns, marker=f"session {i + 1}")
        for i in range(settings.concurrent)
    ]
    # room for every session's whole context: a stream of n_ctx each by default; with a unified
    # cache (kv_unified = True) this many cells (shared prefixes are stored once, so it is ample)
    sized = dataclasses.replace(config, kv_cells=settings.n_ctx * settings.concurrent)
    engine = Ours(sized, name=f"splitlane ×{settings.concurrent}")
    label = f"W1 ×{settings.concurrent} concurrent · splitlane"
    try:
        started = time.perf_counter()
        results = await asyncio.gather(*(_session(engine, s, lambda: tick(label, 1)) for s in sessions))
        wall = time.perf_counter() - started
    except SplitlaneError as exc:  # the figures measured so far still count
        outcome.notes.append(f"{label}: failed ({exc.message}); not measured")
        return
    finally:
        engine.close()
    for session in results:
        outcome.add(engine.name, "W1 concurrent", session)
    outcome.figures["concurrent_wall_s"] = wall
    outcome.figures["concurrent_output_tokens"] = sum(r.output_tokens for s in results for r in s)


def _figures(outcome: Outcome) -> None:
    f = outcome.figures
    ours, b1, b2 = "splitlane", "B1 create_completion", "B2 llama_cpp.server"
    plain = "splitlane (no speculation)"
    for w in ("W2", "W3"):
        f[f"{w.lower()}_decode_tps_ours"] = decode_tps(outcome.sessions(ours, w))
        f[f"{w.lower()}_decode_tps_plain"] = decode_tps(outcome.sessions(plain, w))
        f[f"{w.lower()}_decode_tps_b1"] = decode_tps(outcome.sessions(b1, w))
        f[f"{w.lower()}_decode_vs_b1"] = _ratio(f[f"{w.lower()}_decode_tps_ours"], f[f"{w.lower()}_decode_tps_b1"])
        f[f"{w.lower()}_speculation_gain"] = _ratio(
            f[f"{w.lower()}_decode_tps_ours"], f[f"{w.lower()}_decode_tps_plain"]
        )
    w1_ours = outcome.sessions(ours, "W1")
    if w1_ours:
        f["w1_wall_ours_s"] = session_wall(w1_ours)
        f["w1_output_tokens_ours"] = sum(r.output_tokens for s in w1_ours for r in s)
        for key, name in (("b1", b1), ("b2", b2)):
            theirs = outcome.sessions(name, "W1")
            if theirs:
                f[f"w1_wall_{key}_s"] = session_wall(theirs)
                f[f"w1_output_tokens_{key}"] = sum(r.output_tokens for s in theirs for r in s)
                f[f"w1_speedup_vs_{key}"] = _ratio(session_wall(theirs), session_wall(w1_ours))
        drafted = sum(r.drafted_tokens or 0 for s in w1_ours for r in s)
        accepted = sum(r.accepted_tokens or 0 for s in w1_ours for r in s)
        f["w1_drafted"], f["w1_accepted"] = drafted, accepted
    f["w1_warm_over_cold_ttft"] = _ratio(f.get("w1_warm_ttft_s"), f.get("w1_cold_ttft_s"))
    concurrent_wall, single_wall = f.get("concurrent_wall_s"), f.get("w1_wall_ours_s")
    if concurrent_wall and single_wall:
        single_tps = (f.get("w1_output_tokens_ours") or 0) / single_wall
        aggregate = (f.get("concurrent_output_tokens") or 0) / concurrent_wall
        f["concurrent_aggregate_tps"] = aggregate
        f["w1_single_tps"] = single_tps
        f["concurrent_gain"] = _ratio(aggregate, single_tps)
    for target, by in outcome.results.items():
        for workload, sessions in by.items():
            errors = [r.error for s in sessions for r in s if r.error]
            if errors:
                outcome.notes.append(f"{target} {workload}: {len(errors)} errors, first: {errors[0]}")
    f["median_w3_output_tokens_ours"] = (
        statistics.median(r.output_tokens for s in outcome.sessions(ours, "W3") for r in s)
        if outcome.sessions(ours, "W3")
        else None
    )
