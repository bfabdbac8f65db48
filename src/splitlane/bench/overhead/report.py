"""What an overhead run reports: added latency against the direct connection per concurrency level,
throughput and CPU at saturation, peak memory; as a rich table, a JSON document and a plot."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
from rich.table import Table

from splitlane.bench.overhead.run import Cell, Results
from splitlane.telemetry.metrics import percentile

DIRECT = "direct"


@dataclass(frozen=True, slots=True)
class LatencyRow:
    """One target at one concurrency level; times in milliseconds."""

    target: str
    concurrency: int
    requests: int
    errors: int
    ttft_p50_ms: float
    ttft_p99_ms: float
    gap_p50_ms: float
    gap_p99_ms: float
    added_ttft_p50_ms: float
    added_ttft_p99_ms: float
    added_gap_p50_ms: float
    added_gap_p99_ms: float
    chunks_per_s: float


@dataclass(frozen=True, slots=True)
class SaturationRow:
    target: str
    concurrency: int
    requests: int
    errors: int
    chunks_per_s: float
    vs_direct: float
    cpu_s_per_1k_chunks: float  # the gateway process; NaN for the direct connection
    peak_rss_mb: float


def _ms(values: Sequence[float], q: float) -> float:
    return percentile(values, q) * 1000


def _stats(cell: Cell) -> dict[str, float]:
    ok = [s for s in cell.samples if s.error is None]
    ttfts = [t for s in ok if (t := s.ttft) is not None]
    gaps = [g for s in ok for g in s.gaps()]
    return {
        "requests": len(cell.samples),
        "errors": len(cell.samples) - len(ok),
        "ttft_p50": _ms(ttfts, 50),
        "ttft_p99": _ms(ttfts, 99),
        "gap_p50": _ms(gaps, 50),
        "gap_p99": _ms(gaps, 99),
        "chunks_per_s": cell.chunks / cell.seconds if cell.seconds else math.nan,
    }


def latency_rows(results: Results) -> list[LatencyRow]:
    rows: list[LatencyRow] = []
    for level in results.settings.levels:
        base = _stats(results.paced[(DIRECT, level)]) if (DIRECT, level) in results.paced else None
        for target in results.targets:
            s = _stats(results.paced[(target.name, level)])
            b = base or s
            rows.append(
                LatencyRow(
                    target.name,
                    level,
                    int(s["requests"]),
                    int(s["errors"]),
                    s["ttft_p50"],
                    s["ttft_p99"],
                    s["gap_p50"],
                    s["gap_p99"],
                    s["ttft_p50"] - b["ttft_p50"],
                    s["ttft_p99"] - b["ttft_p99"],
                    s["gap_p50"] - b["gap_p50"],
                    s["gap_p99"] - b["gap_p99"],
                    s["chunks_per_s"],
                )
            )
    return rows


def saturation_rows(results: Results) -> list[SaturationRow]:
    direct = results.saturation.get(DIRECT)
    direct_rate = direct.chunks / direct.seconds if direct and direct.seconds else math.nan
    rows = []
    for target in results.targets:
        cell = results.saturation[target.name]
        s = _stats(cell)
        cpu = cell.cpu_s / cell.chunks * 1000 if target.gateway and cell.chunks else math.nan
        rows.append(
            SaturationRow(
                target.name,
                results.settings.saturation_level,
                int(s["requests"]),
                int(s["errors"]),
                s["chunks_per_s"],
                s["chunks_per_s"] / direct_rate,
                cpu,
                results.peak_rss_mb.get(target.name, math.nan),
            )
        )
    return rows


def errors(results: Results) -> list[tuple[str, str, int]]:
    """(target, error, count) for every kind of failed request, all phases together."""
    counts: Counter[tuple[str, str]] = Counter()
    for (name, _), cell in results.paced.items():
        counts.update((name, s.error) for s in cell.samples if s.error is not None)
    for name, cell in results.saturation.items():
        counts.update((name, s.error) for s in cell.samples if s.error is not None)
    return [(name, error, n) for (name, error), n in counts.most_common()]


def _f(value: float, fmt: str = "{:.2f}") -> str:
    return "–" if math.isnan(value) else fmt.format(value)


def latency_table(rows: Sequence[LatencyRow], interval_ms: float, staggered: bool = True) -> Table:
    arrivals = "streams staggered" if staggered else "streams synchronized: each wave arrives at once"
    table = Table(
        title=f"TTFT and inter-chunk gap in ms; + is added vs {DIRECT} "
        f"(upstream: a chunk every {interval_ms:g} ms; {arrivals})"
    )
    for column in ("c", "target", "req", "err", "TTFT p50", "p99", "+p50", "+p99", "+gap p50", "+gap p99"):
        table.add_column(column, justify="left" if column == "target" else "right", no_wrap=True)
    for row in rows:
        added = row.target != DIRECT
        table.add_row(
            str(row.concurrency),
            row.target,
            str(row.requests),
            str(row.errors),
            _f(row.ttft_p50_ms),
            _f(row.ttft_p99_ms),
            _f(row.added_ttft_p50_ms, "{:+.2f}") if added else "",
            _f(row.added_ttft_p99_ms, "{:+.2f}") if added else "",
            _f(row.added_gap_p50_ms, "{:+.2f}") if added else "",
            _f(row.added_gap_p99_ms, "{:+.2f}") if added else "",
            end_section=row is not rows[-1] and row.target == rows[-1].target,
        )
    return table


def saturation_table(rows: Sequence[SaturationRow]) -> Table:
    level = rows[0].concurrency if rows else 0
    table = Table(title=f"Saturation (unpaced upstream, c={level})")
    for column in ("target", "req", "err", "chunks/s", f"vs {DIRECT}", "CPU s/1k chunks", "peak RSS MB"):
        table.add_column(column, justify="left" if column == "target" else "right", no_wrap=True)
    for row in rows:
        table.add_row(
            row.target,
            str(row.requests),
            str(row.errors),
            _f(row.chunks_per_s, "{:,.0f}"),
            _f(row.vs_direct, "{:.2f}x"),
            _f(row.cpu_s_per_1k_chunks, "{:.3f}"),
            _f(row.peak_rss_mb, "{:.0f}"),
        )
    return table


NOISE_MS = 0.1  # an added latency below this (or negative: the hop beat direct's tail) is no baseline


def ratios(latency: Sequence[LatencyRow], saturation: Sequence[SaturationRow], level: int) -> dict[str, float]:
    """The headline ratios at one concurrency level (what docs/performance.md quotes)."""
    at = {r.target: r for r in latency if r.concurrency == level}
    sat = {r.target: r for r in saturation}
    out: dict[str, float] = {}

    def ratio(key: str, added: float, baseline: float) -> None:
        if baseline >= NOISE_MS:  # below it, a ratio would only measure the noise
            out[key] = added / baseline

    if "splitlane" in at and "translate" in at:
        ratio(
            "translate_vs_splitlane_added_ttft_p50",
            at["translate"].added_ttft_p50_ms,
            at["splitlane"].added_ttft_p50_ms,
        )
    if "splitlane" in at and "litellm" in at:
        ratio("litellm_vs_splitlane_added_ttft_p99", at["litellm"].added_ttft_p99_ms, at["splitlane"].added_ttft_p99_ms)
    if "splitlane" in at and "bare" in at:  # how close to the floor of a Python hop
        for q in ("p50", "p99"):
            added = getattr(at["splitlane"], f"added_ttft_{q}_ms")
            ratio(f"splitlane_vs_bare_added_ttft_{q}", added, getattr(at["bare"], f"added_ttft_{q}_ms"))
    if "splitlane" in sat and "bare" in sat:
        out["splitlane_vs_bare_chunks_per_s"] = sat["splitlane"].chunks_per_s / sat["bare"].chunks_per_s
    if "splitlane" in sat and "litellm" in sat:
        out["splitlane_vs_litellm_chunks_per_s"] = sat["splitlane"].chunks_per_s / sat["litellm"].chunks_per_s
    if "splitlane" in at and "portkey" in at:
        ratio("portkey_vs_splitlane_added_ttft_p99", at["portkey"].added_ttft_p99_ms, at["splitlane"].added_ttft_p99_ms)
    if "splitlane" in sat and "portkey" in sat:
        out["splitlane_vs_portkey_chunks_per_s"] = sat["splitlane"].chunks_per_s / sat["portkey"].chunks_per_s
    return out


def document(results: Results, latency: Sequence[LatencyRow], saturation: Sequence[SaturationRow]) -> dict[str, Any]:
    level = 64 if 64 in results.settings.levels else results.settings.levels[-1]
    return {
        "settings": asdict(results.settings),
        "started": results.started,
        "targets": [{"name": t.name, "surface": t.surface, "url": t.server.url} for t in results.targets],
        "latency": [asdict(r) for r in latency],
        "saturation": [asdict(r) for r in saturation],
        "ratios": {"concurrency": level, **ratios(latency, saturation, level)},
    }


def plot(latency: Sequence[LatencyRow], saturation: Sequence[SaturationRow], path: Path) -> Path:
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4))
    targets = [t for t in dict.fromkeys(r.target for r in latency) if t != DIRECT]
    for target in targets:
        rows = [r for r in latency if r.target == target]
        xs = [r.concurrency for r in rows]
        (line,) = left.plot(xs, [max(r.added_ttft_p99_ms, 0.01) for r in rows], marker="o", label=f"{target} p99")
        left.plot(xs, [max(r.added_ttft_p50_ms, 0.01) for r in rows], marker=".", ls="--", color=line.get_color())
    left.set_xscale("log", base=2)
    left.set_yscale("log")
    left.set_xlabel("concurrent streams")
    left.set_ylabel("added TTFT vs direct (ms; dashed p50)")
    left.set_title("Added time to first token")
    left.grid(alpha=0.3, which="both")
    left.legend(fontsize=8)
    names = [r.target for r in saturation]
    right.bar(names, [r.chunks_per_s for r in saturation], color="#4c72b0")
    right.set_ylabel("streamed chunks / s")
    right.set_title(f"Saturation throughput (c={saturation[0].concurrency if saturation else 0})")
    right.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
