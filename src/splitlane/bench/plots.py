"""PNG plots of a benchmark run (matplotlib, headless Agg backend)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path

import matplotlib
from matplotlib.figure import Figure

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from splitlane.bench.replay import TurnResult
from splitlane.bench.report import SessionResult
from splitlane.telemetry.metrics import SessionTable, percentile


def effective_tps(sessions: Sequence[SessionResult], targets: Sequence[str], path: Path) -> Path:
    """Distribution of session effective tokens/s per target (box plot with every session shown)."""
    fig, ax = plt.subplots(figsize=(7, 4))
    data = [[s.summary.effective_tps for s in sessions if s.target == name] for name in targets]
    ax.boxplot(data, tick_labels=list(targets), whis=(10, 90), showfliers=False)
    for i, values in enumerate(data, 1):
        ax.scatter([i] * len(values), values, s=12, alpha=0.6)
    ax.set_ylabel("effective tokens/s per session")
    ax.set_title("Session effective tokens/s (whiskers P10–P90)")
    ax.grid(axis="y", alpha=0.3)
    return _save(fig, path)


def time_split(summary: dict[str, SessionTable], path: Path) -> Path:
    """Mean session wall time split into waiting (TTFT), decoding and tool gaps, per target."""
    names = list(summary)
    parts = (("waiting (TTFT)", "mean_wait_s"), ("decoding", "mean_decode_s"), ("tools / gaps", "mean_gap_s"))
    fig, ax = plt.subplots(figsize=(7, 4))
    bottom = [0.0] * len(names)
    for label, key in parts:
        values = [float(getattr(summary[n], key)) for n in names]
        ax.bar(names, values, bottom=bottom, label=label)
        bottom = [b + v for b, v in zip(bottom, values, strict=True)]
    ax.set_ylabel("seconds per session (mean)")
    ax.set_title("Where a session's time goes")
    ax.legend()
    return _save(fig, path)


def ttft_over_turns(results: Sequence[TurnResult], targets: Sequence[str], path: Path) -> Path:
    """Median TTFT at each turn index per target: does prefill cost grow with the context?"""
    fig, ax = plt.subplots(figsize=(7, 4))
    for name in targets:
        by_turn: dict[int, list[float]] = defaultdict(list)
        for r in results:
            if r.target == name and (ttft := r.times.ttft_s) is not None:
                by_turn[r.turn_index].append(ttft)
        turns = sorted(by_turn)
        ax.plot(turns, [percentile(by_turn[t], 50) for t in turns], marker=".", label=name)
    ax.set_xlabel("turn")
    ax.set_ylabel("TTFT (s), median over sessions")
    ax.set_title("Time to first token over a session")
    ax.grid(alpha=0.3)
    ax.legend()
    return _save(fig, path)


def sweep(
    parameter: str, values: Sequence[float], wall_s: Sequence[float], effective: Sequence[float], path: Path
) -> Path:
    """Session wall time and effective tokens/s against one varied parameter, with the ideal
    (everything scales with it) for comparison."""
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    left.plot(values, wall_s, marker="o", label="measured")
    left.set_xscale("log")
    left.set_xlabel(parameter)
    left.set_ylabel("mean session wall time (s)")
    left.set_ylim(bottom=0)
    left.grid(alpha=0.3)
    right.plot(values, effective, marker="o", label="measured")
    right.plot(
        values, [effective[0] * v / values[0] for v in values], linestyle="--", label=f"if it scaled with {parameter}"
    )
    right.set_xscale("log")
    right.set_yscale("log")
    right.set_xlabel(parameter)
    right.set_ylabel("P50 effective tokens/s")
    right.legend()
    right.grid(alpha=0.3)
    fig.suptitle(f"Session time against {parameter}")
    return _save(fig, path)


def split_arrangements(
    names: Sequence[str], summary: dict[str, SessionTable], stats: dict[str, dict[str, float]], path: Path
) -> Path:
    """``bench split``: mean session wall time and mean cost per session of each arrangement."""
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    colours = ["#7b5cd6", "#1f9d72", "#e08a2c"]
    walls = [summary[n].mean_wall_s / 60 for n in names]
    costs = [stats[n]["mean_session_cost_usd"] for n in names]
    for ax, values, label, fmt in (
        (left, walls, "mean session wall time (min)", "{:.1f} min"),
        (right, costs, "mean cost per session (USD)", "${:.2f}"),
    ):
        bars = ax.bar(list(names), values, color=colours[: len(names)])
        ax.bar_label(bars, labels=[fmt.format(v) for v in values])
        ax.set_ylabel(label)
        ax.grid(axis="y", alpha=0.3)
    fig.suptitle("The planner/executor split: everything on plan, everything on act, split by lane")
    return _save(fig, path)


def _save(fig: Figure, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def transports(series: dict[str, tuple[list[float], list[float]]], path: Path) -> Path:
    """Per turn of the session, each transport's bytes sent (KB) and median turn time (ms)."""
    fig, (sent, took) = plt.subplots(1, 2, figsize=(10, 4))
    for name, (kilobytes, milliseconds) in series.items():
        turns = list(range(1, len(kilobytes) + 1))
        sent.plot(turns, kilobytes, marker=".", label=name)
        took.plot(turns, milliseconds, marker=".", label=name)
    sent.set_title("sent by the client per turn")
    sent.set_ylabel("KB")
    took.set_title("turn time through the gateway (median of rounds)")
    took.set_ylabel("ms")
    for ax in (sent, took):
        ax.set_xlabel("turn")
        ax.grid(alpha=0.3)
        ax.legend()
    return _save(fig, path)


def capacity_curve(levels: Sequence[tuple[int, float, float, float]], slo: dict[str, float], path: Path) -> Path:
    """Per level (sessions at once): TTFT P90, decode P50 and goodput, with the SLO's bounds."""
    sessions = [level[0] for level in levels]
    fig, (ttft, decode, goodput) = plt.subplots(1, 3, figsize=(12, 3.8))
    for ax, values, title, unit, bound in (
        (ttft, [level[1] for level in levels], "TTFT P90", "s", slo.get("ttft")),
        (decode, [level[2] for level in levels], "decode P50", "tokens/s", slo.get("decode")),
        (goodput, [level[3] for level in levels], "goodput", "turns meeting the SLO per minute", None),
    ):
        ax.plot(sessions, values, marker="o")
        if bound is not None:
            ax.axhline(bound, color="red", linestyle="--", label="SLO")
            ax.legend()
        ax.set_title(title)
        ax.set_xlabel("concurrent sessions")
        ax.set_ylabel(unit)
        ax.set_xscale("log", base=2)
        ax.grid(alpha=0.3)
    return _save(fig, path)
