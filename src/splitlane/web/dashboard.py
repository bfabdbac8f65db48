"""``/dashboard``: a static page (vanilla JS + the vendored uPlot, no build step) polling two JSON
endpoints that read telemetry queries only."""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from splitlane.telemetry.metrics import SessionSummary, summarize_session
from splitlane.telemetry.queries import (
    GROUPINGS,
    by_session,
    dropped_records,
    group_sessions,
    known_cost,
    load_turns,
    spend,
)
from splitlane.telemetry.recorder import Recorder
from splitlane.telemetry.records import TurnRecord

STATIC = Path(__file__).parent / "static"
LIVE_S = 120.0  # a session with a turn in flight, or one that ended this recently, is live
MAX_SESSIONS = 200


def _json(data: Any) -> Response:
    return Response(orjson.dumps(data), media_type="application/json")


def _summary(summary: SessionSummary) -> dict[str, Any]:
    return {
        **asdict(summary),
        "effective_tps": summary.effective_tps,
        "runs_per_30min": summary.runs_per_30min,
        "cache_hit_ratio": summary.cache_hit_ratio,
    }


def _session_row(key: str, turns: Sequence[TurnRecord], live: set[str], now: float) -> dict[str, Any]:
    summary = summarize_session([t.times for t in turns])
    return {
        "id": key,
        "client": turns[-1].client,
        "lanes": sorted({t.lane for t in turns if t.lane}),
        "upstreams": sorted({t.upstream for t in turns if t.upstream}),
        "first": turns[0].t_recv,
        "last": turns[-1].t_last,
        "errors": sum(1 for t in turns if t.status == "error"),
        "live": key in live or now - turns[-1].t_last < LIVE_S,
        "cost_usd": known_cost(turns),
        **_summary(summary),
    }


def spend_by_lane(records: Sequence[TurnRecord]) -> dict[str, float]:
    lanes: dict[str, list[TurnRecord]] = defaultdict(list)
    for record in records:
        if record.lane:
            lanes[record.lane].append(record)
    return {lane: known_cost(mine) or 0.0 for lane, mine in sorted(lanes.items())}


def _turn_row(index: int, turn: TurnRecord, start: float) -> dict[str, Any]:
    return {
        "index": index,
        "lane": turn.lane,
        "upstream": turn.upstream,
        "status": turn.status,
        "error": turn.error,
        "start_s": turn.t_recv - start,
        "ttft_s": turn.ttft_s,
        "decode_s": turn.times.decode_s,
        "end_s": turn.t_last - start,
        "gap_before_s": turn.gap_before_s,
        "output_tokens": turn.output_tokens,
        "input_tokens": turn.input_tokens,
        "cached_input_tokens": turn.cached_input_tokens,
        "cache_hit": turn.cached_input_tokens / turn.input_tokens if turn.input_tokens else None,
        "decode_tps": turn.decode_tps,
        "tool_calls": turn.tool_calls,
        "cost_usd": turn.cost_usd,
    }


def _since(request: Request) -> float | None:
    hours = request.query_params.get("hours", "24")
    try:
        value = float(hours)
    except ValueError:
        return None
    return None if value <= 0 else value * 3600


async def page(request: Request) -> Response:
    return FileResponse(STATIC / "index.html", headers={"cache-control": "no-cache"})


class Dashboard:
    """The JSON behind the page; ``recorder_of(request)`` gives the running gateway's recorder."""

    def __init__(self, recorder_of: Callable[[Request], Recorder]) -> None:
        self.recorder_of = recorder_of

    async def overview(self, request: Request) -> Response:
        recorder = self.recorder_of(request)
        now = recorder.clock.now()
        window = _since(request)
        since = None if window is None else now - window
        by = request.query_params.get("by") or None
        if by not in (None, *GROUPINGS):
            by = None
        engine = recorder.writer.engine
        records = await load_turns(engine, since)
        live = {o.session.key for o in recorder.inflight.values()}
        sessions = by_session(records)
        rows = [_session_row(key, turns, live, now) for key, turns in sessions.items()]
        rows.sort(key=lambda r: (not r["live"], -r["last"]))
        groups = group_sessions(records, by)
        total = spend(groups)
        stats = recorder.writer.stats
        return _json(
            {
                "now": now,
                "by": by,
                "groups": [
                    {
                        "name": g.name,
                        "table": asdict(g.table),  # NaN (no sessions) becomes null
                        "turns": g.turn_stats,
                        "costs": {k: None if math.isnan(v) else v for k, v in g.costs(total).items()},
                    }
                    for g in groups
                ],
                "spend_usd": total,
                "unpriced_turns": sum(1 for r in records if r.cost_usd is None and r.upstream),
                "spend_by_lane": spend_by_lane(records),
                "sessions": rows[:MAX_SESSIONS],
                "session_count": len(rows),
                "effective_tps": [r["effective_tps"] for r in rows],
                "inflight": [
                    {"session": o.session.key, "lane": o.route.lane, "upstream": o.route.upstream, "since": o.t_recv}
                    for o in recorder.inflight.values()
                ],
                "telemetry": {
                    "written": stats.written,
                    "dropped": stats.dropped,
                    "failed": stats.failed,
                    "dropped_stored": await dropped_records(engine, since),
                    "queue_depth": recorder.writer.depth,
                },
            }
        )

    async def session(self, request: Request) -> Response:
        recorder = self.recorder_of(request)
        key = request.query_params.get("id", "")
        records = await load_turns(recorder.writer.engine, session=key)
        if not records:
            return _json({"id": key, "turns": [], "summary": None})
        start = records[0].t_recv
        return _json(
            {
                "id": key,
                "summary": _summary(summarize_session([t.times for t in records])),
                "turns": [_turn_row(i, t, start) for i, t in enumerate(records)],
                "inflight": [
                    {"lane": o.route.lane, "start_s": o.t_recv - start}
                    for o in recorder.inflight.values()
                    if o.session.key == key
                ],
            }
        )


def dashboard_routes(recorder_of: Callable[[Request], Recorder]) -> list[BaseRoute]:
    dashboard = Dashboard(recorder_of)
    return [
        Route("/dashboard", page, methods=["GET"]),
        Route("/dashboard/api/overview", dashboard.overview, methods=["GET"]),
        Route("/dashboard/api/session", dashboard.session, methods=["GET"]),
        Mount("/dashboard/static", StaticFiles(directory=STATIC), name="dashboard-static"),
    ]
