"""One overhead run: every target at every concurrency level, interleaved round by round so that
all targets share the machine's noise, then a saturation phase (an upstream with no pacing).

Targets: ``direct`` (the upstream itself), ``splitlane`` (Chat Completions in, Chat upstream),
``translate`` (Anthropic Messages in, Chat upstream), ``litellm`` (its proxy, Chat in and out) and
``portkey`` (its gateway, Chat in and out, the upstream named in each request's headers).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import orjson
import psutil

from splitlane.bench.overhead.load import Endpoint, Sample, chunks_in, measured, run_phase
from splitlane.bench.processes import Server

PROMPT_WORDS = ("The quick brown fox jumps over the lazy dog while the compiler reports an error. ",)


@dataclass(frozen=True, slots=True)
class Target:
    name: str
    surface: str  # chat | messages
    server: Server
    gateway: bool  # a process in front of the upstream (its CPU and memory are reported)
    headers: tuple[tuple[str, str], ...] = ()  # sent with every request (Portkey's upstream)

    def endpoint(self, model: str, chunks: int, prompt_bytes: int) -> Endpoint:
        text = (PROMPT_WORDS[0] * (prompt_bytes // len(PROMPT_WORDS[0]) + 1))[:prompt_bytes]
        # the same body is valid on both surfaces; only the path and the auth headers differ
        body = orjson.dumps(
            {"model": model, "max_tokens": chunks, "messages": [{"role": "user", "content": text}], "stream": True}
        )
        if self.surface == "messages":
            headers = {"anthropic-version": "2023-06-01", "x-api-key": "unused"}
            return Endpoint.post(self.server.url, "/v1/messages", body, {**headers, **dict(self.headers)})
        headers = {"authorization": "Bearer unused", **dict(self.headers)}
        return Endpoint.post(self.server.url, "/v1/chat/completions", body, headers)


@dataclass(frozen=True, slots=True)
class Settings:
    levels: tuple[int, ...] = (1, 16, 64, 256)
    rounds: int = 3
    phase_s: float = 2.0
    warmup_s: float = 0.5
    chunks: int = 16  # content chunks per paced response
    interval_ms: float = 20.0  # the paced upstream's time between chunks (50 tok/s)
    burst_chunks: int = 256  # content chunks per unpaced response (saturation)
    saturation_level: int = 64
    prompt_bytes: int = 2000
    timeout_s: float = 60.0
    # Paced phases: each stream starts at its own moment within one response's time, as
    # independent agents do; ``False`` starts all together, and every wave of ``c`` requests then
    # arrives at once (the gateway works through the wave before the last one's upstream call).
    staggered: bool = True

    def stagger_s(self, kind: str) -> float:
        """How far apart the streams of a phase start: over one direct response's duration, within
        the warm-up (so that every stream runs through the measured window)."""
        if kind != "paced" or not self.staggered:
            return 0.0
        return min((self.chunks + 1) * self.interval_ms / 1000, self.warmup_s)


@dataclass(slots=True)
class Cell:
    """Everything measured for one target at one load (all rounds together)."""

    samples: list[Sample] = field(default_factory=list)
    chunks: int = 0  # arrived inside the measured windows
    seconds: float = 0.0  # length of the measured windows
    cpu_s: float = 0.0  # the gateway process's CPU time inside the measured windows

    def add(self, samples: Sequence[Sample], window: tuple[float, float], cpu_s: float) -> None:
        self.samples.extend(measured(samples, window))
        self.chunks += chunks_in(samples, window)
        self.seconds += window[1] - window[0]
        self.cpu_s += cpu_s


@dataclass(slots=True)
class Results:
    settings: Settings
    targets: list[Target]
    paced: dict[tuple[str, int], Cell] = field(default_factory=dict)
    saturation: dict[str, Cell] = field(default_factory=dict)
    peak_rss_mb: dict[str, float] = field(default_factory=dict)
    started: float = field(default_factory=time.time)


def _cpu(target: Target) -> float:
    if not target.gateway:
        return 0.0
    proc = target.server.process()
    total = 0.0
    for p in [proc, *proc.children(recursive=True)]:
        try:
            times = p.cpu_times()
        except psutil.NoSuchProcess:
            continue
        total += times.user + times.system
    return total


def peak_rss_mb(pid: int) -> float:
    """The kernel's high-water mark of resident memory (VmHWM), or the current RSS elsewhere."""
    status = Path(f"/proc/{pid}/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float(psutil.Process(pid).memory_info().rss) / 2**20


async def _phase(target: Target, kind: str, level: int, settings: Settings, cell: Cell) -> None:
    expected = settings.chunks if kind == "paced" else settings.burst_chunks
    endpoint = target.endpoint(kind, expected, settings.prompt_bytes)

    async def cpu_at(moment: float) -> float:
        await asyncio.sleep(max(0.0, moment - time.perf_counter()))
        return _cpu(target)

    start = time.perf_counter()
    window_start, window_end = start + settings.warmup_s, start + settings.warmup_s + settings.phase_s
    cpu_start = asyncio.ensure_future(cpu_at(window_start))
    cpu_end = asyncio.ensure_future(cpu_at(window_end))
    samples, *window = await run_phase(
        [endpoint], level, settings.phase_s, settings.warmup_s, settings.timeout_s, stagger_s=settings.stagger_s(kind)
    )
    for sample in samples:
        if sample.error is None and len(sample.chunks) != expected:
            sample.error = f"{len(sample.chunks)} of {expected} chunks"
    cell.add(samples, (window[0], window[1]), await cpu_end - await cpu_start)


def plan(settings: Settings, targets: Sequence[Target]) -> list[tuple[str, Target, int]]:
    """The phases in order: round r runs every target once per level, starting from target r."""
    phases: list[tuple[str, Target, int]] = []
    for kind, levels in (("paced", settings.levels), ("burst", (settings.saturation_level,))):
        for level in levels:
            for r in range(settings.rounds):
                for i in range(len(targets)):
                    phases.append((kind, targets[(i + r) % len(targets)], level))
    return phases


async def run(settings: Settings, targets: Sequence[Target], advance: Callable[[int, str], None]) -> Results:
    results = Results(settings, list(targets))
    for done, (kind, target, level) in enumerate(plan(settings, targets)):
        advance(done, f"{target.name} c={level}{' saturation' if kind == 'burst' else ''}")
        if kind == "paced":
            cell = results.paced.setdefault((target.name, level), Cell())
        else:
            cell = results.saturation.setdefault(target.name, Cell())
        await _phase(target, kind, level, settings, cell)
    for target in targets:
        if target.gateway:
            results.peak_rss_mb[target.name] = peak_rss_mb(target.server.pid)
    return results
