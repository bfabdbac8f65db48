"""The fidelity comparison itself, on hand-made turns (the measurement run is `splitlane bench fidelity`)."""

from __future__ import annotations

import pytest

from splitlane.bench.fidelity import compare
from splitlane.bench.replay import TurnResult
from splitlane.sim_profiles import load_profile


def turn(index: int, t_send: float, ttft: float, decode_s: float, planned: float | None) -> TurnResult:
    return TurnResult(
        run_id="r", target="sim", session_id="s", turn_index=index, t_send=t_send, t_first=t_send + ttft,
        t_last=t_send + ttft + decode_s, t_first_toolcall=None, prompt_tokens=2000, cached_tokens=1000,
        completion_tokens=101, completion_tokens_source="usage", gap_before_planned_s=planned,
    )  # fmt: skip


def test_measured_against_the_profile() -> None:
    profile = load_profile(
        "fast", {"base_latency_s": "0.5", "prefill_tps": "1000", "cached_prefill_tps": "10000", "decode_tps": "100"}
    )
    expected_ttft = 0.5 + 1000 / 1000 + 1000 / 10000  # 1.6 s
    results = [turn(0, 0.0, expected_ttft, 1.0, None), turn(1, 4.6, expected_ttft * 1.1, 1.0, 2.0)]
    ttft, decode, gap = compare(results, profile)
    assert ttft.expected_p50 == pytest.approx(expected_ttft)
    assert ttft.p50_ratio == pytest.approx(1.05)
    assert ttft.p90_error == pytest.approx(0.09)
    assert ttft.p90_error_abs == pytest.approx(0.09 * expected_ttft)
    assert decode.p50_ratio == pytest.approx(1.0)  # 100 tokens in 1 s after the first
    assert gap.turns == 1
    assert gap.p50_ratio == pytest.approx((4.6 - (expected_ttft + 1.0)) / 2.0)
