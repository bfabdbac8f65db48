"""Benchmark results: per-session summaries, the side-by-side session table, JSONL/CSV records."""

from __future__ import annotations

import csv
import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import orjson
from rich.table import Table

from splitlane.bench.replay import TurnResult
from splitlane.telemetry.metrics import (
    SessionSummary,
    SessionTable,
    gaps_before,
    session_table,
    summarize_session,
)
from splitlane.telemetry.metrics import turn_stats as per_turn


@dataclass(frozen=True, slots=True)
class SessionResult:
    run_id: str
    target: str
    session_id: str
    summary: SessionSummary
    errors: int

    def record(self) -> dict[str, Any]:
        s = self.summary
        return {
            "run_id": self.run_id,
            "endpoint": self.target,
            "session_id": self.session_id,
            "turns": s.turns,
            "wall_s": s.wall_s,
            "llm_s": s.llm_s,
            "wait_s": s.wait_s,
            "decode_s": s.decode_s,
            "gap_s": s.gap_s,
            "output_tokens": s.output_tokens,
            "effective_tps": s.effective_tps,
            "runs_per_30min": s.runs_per_30min,
            "cache_hit_ratio": s.cache_hit_ratio,
            "errors": self.errors,
        }


def by_session(results: Sequence[TurnResult]) -> dict[tuple[str, str], list[TurnResult]]:
    grouped: dict[tuple[str, str], list[TurnResult]] = defaultdict(list)
    for result in results:
        grouped[(result.target, result.session_id)].append(result)
    for turns in grouped.values():
        turns.sort(key=lambda r: r.turn_index)
    return dict(grouped)


def sessions(results: Sequence[TurnResult]) -> list[SessionResult]:
    out = []
    for (target, session_id), turns in by_session(results).items():
        summary = summarize_session([t.times for t in turns])
        errors = sum(1 for t in turns if t.error)
        out.append(SessionResult(turns[0].run_id, target, session_id, summary, errors))
    return out


def tables(session_results: Sequence[SessionResult], targets: Sequence[str]) -> dict[str, SessionTable]:
    return {name: session_table([s.summary for s in session_results if s.target == name]) for name in targets}


ROWS: tuple[tuple[str, str, str], ...] = (
    ("sessions", "sessions", "{:.0f}"),
    ("mean_wall_s", "mean wall (s)", "{:.1f}"),
    ("mean_output_tokens", "mean output tokens", "{:,.0f}"),
    ("p50_effective_tps", "P50 effective tok/s", "{:.1f}"),
    ("p90_effective_tps", "P90 effective tok/s", "{:.1f}"),
    ("p10_effective_tps", "P10 effective tok/s", "{:.1f}"),
    ("runs_per_30min", "runs per 30 min", "{:.2f}"),
    ("mean_wait_s", "  waiting (Σ TTFT, s)", "{:.1f}"),
    ("mean_decode_s", "  decoding (s)", "{:.1f}"),
    ("mean_gap_s", "  tools/gaps (s)", "{:.1f}"),
    ("cache_hit_ratio", "cache hit ratio", "{:.1%}"),
)


def _cell(fmt: str, value: float) -> str:
    return "–" if math.isnan(value) else fmt.format(value)


def side_by_side(
    summary: dict[str, SessionTable],
    turn_stats: dict[str, dict[str, float]],
    title: str,
    extra: Sequence[tuple[str, str, str]] = (),
) -> Table:
    """Metrics as rows, targets as columns, and each later target's ratio to the first (the baseline);
    ``extra`` rows (key, label, format) are read from ``turn_stats`` like the per-turn ones."""
    names = list(summary)
    table = Table(title=title)
    table.add_column("per session")
    for name in names:
        table.add_column(name, justify="right")
    for name in names[1:]:
        table.add_column(f"{name}/{names[0]}", justify="right", style="bold")
    rows = [(label, fmt, [float(getattr(summary[n], key)) for n in names]) for key, label, fmt in ROWS]
    rows += [(label, fmt, [turn_stats[n][key] for n in names]) for key, label, fmt in (*TURN_ROWS, *extra)]
    for label, fmt, values in rows:
        ratios = [_ratio(v, values[0]) for v in values[1:]]
        table.add_row(label, *(_cell(fmt, v) for v in values), *ratios)
    return table


TURN_ROWS: tuple[tuple[str, str, str], ...] = (
    ("p50_ttft_s", "per turn: P50 TTFT (s)", "{:.3f}"),
    ("p90_ttft_s", "per turn: P90 TTFT (s)", "{:.3f}"),
    ("p50_decode_tps", "per turn: P50 decode tok/s", "{:.1f}"),
    ("errors", "per turn: errors", "{:.0f}"),
)
COST_ROWS: tuple[tuple[str, str, str], ...] = (
    ("mean_session_cost_usd", "cost: mean per session (USD)", "{:.4f}"),
    ("cost_per_1k_output_usd", "cost: per 1K output tokens (USD)", "{:.4f}"),
    ("cost_usd", "cost: total (USD)", "{:.4f}"),
    ("spend_share", "cost: share of spend", "{:.1%}"),
    ("unpriced_turns", "cost: turns of unknown price", "{:.0f}"),
)


def _ratio(value: float, base: float) -> str:
    if math.isnan(value) or math.isnan(base) or base == 0:
        return "–"
    return f"{value / base:.2f}x"


def turn_stats(results: Sequence[TurnResult], targets: Sequence[str]) -> dict[str, dict[str, float]]:
    stats = {}
    for name in targets:
        mine = [r for r in results if r.target == name]
        stats[name] = per_turn([r.times for r in mine], sum(1 for r in mine if r.error))
    return stats


def turn_records(results: Sequence[TurnResult]) -> list[dict[str, Any]]:
    records = []
    for turns in by_session(results).values():
        gaps = gaps_before([t.times for t in turns])
        for turn, gap in zip(turns, gaps, strict=True):
            records.append({**turn.record(), "gap_actual": gap})
    return records


def write_records(directory: Path, name: str, records: Sequence[dict[str, Any]]) -> list[Path]:
    """``name``.jsonl and ``name``.csv in ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    jsonl, table = directory / f"{name}.jsonl", directory / f"{name}.csv"
    jsonl.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in records))
    with table.open("w", newline="", encoding="utf-8") as handle:
        if records:
            writer = csv.DictWriter(handle, fieldnames=list(records[0]))
            writer.writeheader()
            writer.writerows(records)
    return [jsonl, table]


def table_records(summary: dict[str, SessionTable]) -> list[dict[str, Any]]:
    return [{"endpoint": name, **asdict(row)} for name, row in summary.items()]
