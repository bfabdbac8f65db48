"""``splitlane bench split``: what the planner/executor split buys, measured.

One trace replayed three ways side by side, each through a gateway of its own with one alias
(``coder``): every turn on the plan upstream (``all-plan``), every turn on the act upstream
(``all-act``), and the split (``split``: lanes as the gateway classifies them). Time comes from
the replay client, cost from each gateway's own telemetry (the turn costs it stored, at its price
table), so the figures are what a user of each arrangement would see.
"""

from __future__ import annotations

import math
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from splitlane.bench.report import COST_ROWS
from splitlane.config import Config
from splitlane.store.database import open_engine, sqlite_url
from splitlane.telemetry.queries import known_cost, load_turns
from splitlane.telemetry.records import TurnRecord

ALIAS = "coder"
ARRANGEMENTS: dict[str, dict[str, str]] = {  # lane -> the upstream that serves it
    "all-plan": {"plan": "plan", "act": "plan", "background": "plan"},
    "all-act": {"plan": "act", "act": "act", "background": "act"},
    "split": {"plan": "plan", "act": "act", "background": "act"},
}


def upstream_spec(text: str) -> dict[str, Any]:
    """``sim:PROFILE?param=value&…`` (a simulated upstream in the gateway itself) or
    ``URL[,kind=openai_chat|openai_responses|anthropic][,model=NAME][,key_env=VAR]``."""
    if text.startswith("sim:"):
        parts = urlsplit(text)
        return {"kind": "sim", "sim_profile": parts.path or "fast", "sim": dict(parse_qsl(parts.query))}
    url, *options = text.split(",")
    values = dict(option.partition("=")[::2] for option in options)
    unknown = set(values) - {"kind", "model", "key_env"}
    if unknown or not url.startswith(("http://", "https://")):
        raise ValueError(f"expected sim:PROFILE[?k=v] or URL[,kind=…][,model=…][,key_env=…], got '{text}'")
    spec: dict[str, Any] = {"kind": values.get("kind", "openai_chat"), "base_url": url}
    if "key_env" in values:
        spec["api_key_env"] = values["key_env"]
    if "model" in values:
        spec["_model"] = values["model"]
    return spec


def split_config(arrangement: str, plan: dict[str, Any], act: dict[str, Any], data_dir: Path) -> Config:
    """The gateway of one arrangement: upstreams ``plan`` and ``act``, the alias's lanes on them."""
    upstreams, models = {}, {}
    for name, spec in (("plan", plan), ("act", act)):
        upstreams[name] = {k: v for k, v in spec.items() if k != "_model"}
        models[name] = spec.get("_model", name)  # a sim answers any model name
    lanes = {lane: f"{upstream}/{models[upstream]}" for lane, upstream in ARRANGEMENTS[arrangement].items()}
    return Config.model_validate(
        {"data_dir": data_dir, "upstreams": upstreams, "models": {ALIAS: {"lanes": lanes}}, "catch_all": ALIAS}
    )


@contextmanager
def data_dirs() -> Iterator[dict[str, Path]]:
    """A fresh telemetry store per arrangement (so each one's costs are its own run's)."""
    with ExitStack() as stack:
        yield {
            name: Path(stack.enter_context(tempfile.TemporaryDirectory(prefix=f"splitlane-split-{name}-")))
            for name in ARRANGEMENTS
        }


async def stored(data_dir: Path) -> list[TurnRecord]:
    engine = open_engine(sqlite_url(data_dir / "splitlane.db"))
    try:
        return await load_turns(engine)
    finally:
        await engine.dispose()


@dataclass(frozen=True, slots=True)
class Spend:
    """One arrangement's money and where its tokens went, from its gateway's records."""

    cost_usd: float | None  # None: no turn had a known price
    sessions: int
    output_tokens: int
    unpriced_turns: int
    tokens_by_lane: dict[str, int]  # input + output tokens per lane
    cost_by_lane: dict[str, float]

    @classmethod
    def of(cls, records: Sequence[TurnRecord]) -> Spend:
        lanes = sorted({r.lane for r in records})
        return cls(
            cost_usd=known_cost(records),
            sessions=len({r.session for r in records}),
            output_tokens=sum(r.output_tokens for r in records),
            unpriced_turns=sum(1 for r in records if r.cost_usd is None),
            tokens_by_lane={
                lane: sum(r.input_tokens + r.output_tokens for r in records if r.lane == lane) for lane in lanes
            },
            cost_by_lane={lane: known_cost([r for r in records if r.lane == lane]) or 0.0 for lane in lanes},
        )

    def stats(self) -> dict[str, float]:
        """Rows for the side-by-side table (NaN where unknown)."""
        cost = math.nan if self.cost_usd is None else self.cost_usd
        total_tokens = sum(self.tokens_by_lane.values())
        return {
            "mean_session_cost_usd": cost / self.sessions if self.sessions else math.nan,
            "cost_per_1k_output_usd": cost / self.output_tokens * 1000 if self.output_tokens else math.nan,
            "cost_usd": cost,
            "plan_token_share": self.tokens_by_lane.get("plan", 0) / total_tokens if total_tokens else math.nan,
            "unpriced_turns": float(self.unpriced_turns),
        }


SPLIT_ROWS: tuple[tuple[str, str, str], ...] = (
    *COST_ROWS[:3],  # mean per session, per 1K output tokens, total
    ("plan_token_share", "tokens on the plan lane", "{:.1%}"),
    COST_ROWS[-1],  # turns of unknown price
)
