"""routing/limits.py: each alias's context window and output limit, first that applies."""

from __future__ import annotations

from pathlib import Path

from splitlane.config import Config
from splitlane.core.lanes import Lane
from splitlane.routing.limits import alias_limits, lane_limits, serves_tool_search


def config(tmp_path: Path, **models: dict[str, object]) -> Config:
    return Config.model_validate(
        {
            "data_dir": tmp_path,
            "upstreams": {
                "engine": {"kind": "local", "n_ctx": 16384, "max_output_tokens": 512},
                "claude": {"kind": "anthropic", "base_url": "https://api.anthropic.com"},
                "openai": {"kind": "openai_chat", "base_url": "https://api.openai.com/v1"},
                "sim": {"kind": "sim"},
            },
            "models": models,
        }
    )


def test_the_engine_says_its_n_ctx(tmp_path: Path) -> None:
    limits = alias_limits(config(tmp_path, local={"upstream": "engine"}), "local")
    assert (limits.context_window, limits.max_output_tokens) == (16384, 512)


def test_the_dataset_knows_hosted_models(tmp_path: Path) -> None:
    limits = alias_limits(config(tmp_path, fast={"upstream": "openai", "model": "gpt-4o-mini"}), "fast")
    assert limits.context_window == 128_000
    assert limits.source.startswith("dataset")


def test_configured_limits_win_and_a_lane_can_differ(tmp_path: Path) -> None:
    cfg = config(
        tmp_path,
        coder={
            "lanes": {"plan": "claude/claude-sonnet-4-5", "act": "engine/local"},
            "context_window": 100_000,
            "lane_limits": {"act": {"context_window": 8000, "max_output_tokens": 256}},
        },
        **{"coder-plan": {"alias": "coder", "lane": "plan"}},
    )
    assert lane_limits(cfg, "coder", Lane.PLAN).context_window == 100_000
    assert lane_limits(cfg, "coder", Lane.ACT).context_window == 8000
    assert lane_limits(cfg, "coder-plan", Lane.ACT).context_window == 100_000  # a per-mode name: its lane
    whole = alias_limits(cfg, "coder")  # the smallest of the lanes: a client with one setting fits all
    assert (whole.context_window, whole.max_output_tokens) == (8000, 256)
    assert not serves_tool_search(cfg, "coder")  # its act lane is not Anthropic's


def test_unknown_stays_unknown(tmp_path: Path) -> None:
    limits = alias_limits(config(tmp_path, s={"upstream": "sim"}), "s")
    assert limits.context_window is None
    assert limits.source == "unknown"
    assert serves_tool_search(config(tmp_path, c={"upstream": "claude"}), "c")
