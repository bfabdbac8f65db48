"""What the report, the dashboard and the tests read from the store: turns, grouped into sessions,
summarized with ``telemetry/metrics.py`` (one implementation of the definitions).

Grouping (``--by lane|upstream|model|client``): a session whose turns all fall in one group is
summarized exactly as DESIGN.md defines it. A session that spans groups (plan turns on one upstream,
act turns on another) contributes to each group only that group's turns: its wall time there is
the sum, over those turns, of the gap before the turn, its TTFT and its decode time — the time the
session spent on that group's behalf — so a group's time split still adds up to its wall time.
"""

from __future__ import annotations

import itertools
import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from splitlane.store.schema import telemetry_drops, turns
from splitlane.telemetry.metrics import SessionSummary, SessionTable, session_table, summarize_session, turn_stats
from splitlane.telemetry.records import TurnRecord

GROUPINGS = ("lane", "upstream", "model", "client", "surface", "key")
_FIELD = {"key": "api_key"}  # --by key groups by the gateway key's id


async def load_turns(
    engine: AsyncEngine, since: float | None = None, until: float | None = None, session: str | None = None
) -> list[TurnRecord]:
    query = select(turns).order_by(turns.c.t_recv)
    if since is not None:
        query = query.where(turns.c.t_recv >= since)
    if until is not None:
        query = query.where(turns.c.t_recv < until)
    if session is not None:
        query = query.where(turns.c.session == session)
    async with engine.connect() as connection:
        rows = (await connection.execute(query)).all()
    return [TurnRecord.from_row(row) for row in rows]


async def dropped_records(engine: AsyncEngine, since: float | None = None) -> int:
    query = select(func.coalesce(func.sum(telemetry_drops.c.dropped), 0))
    if since is not None:
        query = query.where(telemetry_drops.c.at >= since)
    async with engine.connect() as connection:
        return int((await connection.execute(query)).scalar_one())


def by_session(records: Sequence[TurnRecord]) -> dict[str, list[TurnRecord]]:
    sessions: dict[str, list[TurnRecord]] = defaultdict(list)
    for record in sorted(records, key=lambda r: r.t_recv):
        sessions[record.session].append(record)
    return dict(sessions)


def _attributed(turns_in_group: Sequence[TurnRecord]) -> SessionSummary:
    wait = sum((t.t_last if t.t_first is None else t.t_first) - t.t_recv for t in turns_in_group)
    decode = sum(t.times.decode_s for t in turns_in_group)
    gaps = sum(t.gap_before_s or 0.0 for t in turns_in_group)
    return SessionSummary(
        turns=len(turns_in_group),
        wall_s=wait + decode + gaps,
        wait_s=wait,
        decode_s=decode,
        gap_s=gaps,
        output_tokens=sum(t.output_tokens for t in turns_in_group),
        input_tokens=sum(t.input_tokens for t in turns_in_group),
        cached_input_tokens=sum(t.cached_input_tokens for t in turns_in_group),
    )


@dataclass(frozen=True, slots=True)
class Group:
    name: str
    sessions: list[SessionSummary]
    turns: list[TurnRecord]

    @property
    def table(self) -> SessionTable:
        return session_table(self.sessions)

    @property
    def turn_stats(self) -> dict[str, float]:
        return turn_stats([t.times for t in self.turns], sum(1 for t in self.turns if t.status == "error"))

    @property
    def cost_usd(self) -> float:
        """The group's known spend (NaN when no turn of it had a known price)."""
        cost = known_cost(self.turns)
        return math.nan if cost is None else cost

    def costs(self, total_usd: float) -> dict[str, float]:
        """Cost figures beside the time ones; ``total_usd`` is the spend of every group together.
        A turn of unknown price adds nothing (it is counted in ``unpriced_turns``)."""
        cost = self.cost_usd
        output = sum(t.output_tokens for t in self.turns)
        return {
            "cost_usd": cost,
            "mean_session_cost_usd": cost / len(self.sessions) if self.sessions else math.nan,
            "cost_per_1k_output_usd": cost / output * 1000 if output else math.nan,
            "spend_share": cost / total_usd if total_usd > 0 else math.nan,
            "unpriced_turns": float(sum(1 for t in self.turns if t.cost_usd is None and t.upstream)),
        }


def known_cost(records: Sequence[TurnRecord]) -> float | None:
    """What the turns of known price cost (None: none of them had one)."""
    known = [t.cost_usd for t in records if t.cost_usd is not None]
    return math.fsum(known) if known else None


def spend(groups: Sequence[Group]) -> float:
    return math.fsum(g.cost_usd for g in groups if not math.isnan(g.cost_usd))


def group_sessions(records: Sequence[TurnRecord], by: str | None) -> list[Group]:
    """Sessions summarized per group (``by`` None: one group, "all"), largest group first."""
    if by is not None and by not in GROUPINGS:
        raise ValueError(f"cannot group by {by!r}; choose one of {', '.join(GROUPINGS)}")
    summaries: dict[str, list[SessionSummary]] = defaultdict(list)
    members: dict[str, list[TurnRecord]] = defaultdict(list)
    field = _FIELD.get(by or "", by or "")

    def key(turn: TurnRecord) -> str:
        return "all" if by is None else str(getattr(turn, field) or "") or "(none)"

    for session_turns in by_session(records).values():
        parts = {k: list(g) for k, g in itertools.groupby(sorted(session_turns, key=key), key=key)}
        for name, mine in parts.items():
            mine.sort(key=lambda t: t.t_recv)
            exact = len(parts) == 1
            summaries[name].append(summarize_session([t.times for t in mine]) if exact else _attributed(mine))
            members[name].extend(mine)
    groups = [Group(name, summaries[name], members[name]) for name in summaries]
    return sorted(groups, key=lambda g: (-len(g.sessions), g.name))
