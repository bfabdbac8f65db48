"""What a benchmark target's sessions cost."""

from __future__ import annotations

import math

import pytest

from splitlane.bench.costs import session_costs, target_price
from splitlane.bench.replay import Target, TurnResult


def _turn(target: str, session: str, prompt: int, cached: int, output: int) -> TurnResult:
    return TurnResult("r", target, session, 0, 0.0, 0.1, None, 1.0, prompt, cached, output, "usage", None)


def test_each_kind_of_target_gets_its_price() -> None:
    frontier = target_price(Target("f", "sim:frontier?decode_tps=75"))
    assert frontier is not None
    assert frontier.source == "sim"
    assert target_price(Target("e", "embedded?n_ctx=4096")).source == "free"  # type: ignore[union-attr]
    assert target_price(Target("gw", "http://127.0.0.1:8080/v1", model="coder")) is None  # a gateway: unknown
    openai = target_price(Target("o", "https://api.openai.com/v1", model="gpt-4o-mini"))
    assert openai is not None
    assert openai.source == "dataset:openai/gpt-4o-mini"


def test_session_costs_per_target() -> None:
    prices = {"f": target_price(Target("f", "sim:frontier")), "gw": None}
    results = [
        _turn("f", "a", 1_000_000, 500_000, 100_000),  # 0.5 × $3 + 0.5 × $0.30 + 0.1 × $15
        _turn("f", "b", 1_000_000, 0, 0),
        _turn("gw", "a", 10, 0, 10),
    ]
    costs = session_costs(results, prices)
    assert costs["f"]["mean_session_cost_usd"] == pytest.approx((1.5 + 0.15 + 1.5 + 3.0) / 2)
    assert costs["f"]["cost_per_1k_output_usd"] == pytest.approx((1.5 + 0.15 + 1.5 + 3.0) / 100)
    assert math.isnan(costs["gw"]["mean_session_cost_usd"])
