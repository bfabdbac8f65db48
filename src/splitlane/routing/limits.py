"""What each alias accepts, for the clients that must be told (Claude Code compacts before its
context window, and knows no window for a model name it does not recognise): the context window
and the output limit of each lane, and of the alias as a whole (the smallest of its lanes, for a
client with one setting); whether its upstreams can run Claude Code's tool search.

First that applies: ``[models.X.lane_limits.LANE]``, ``[models.X] context_window`` /
``max_output_tokens``, then the lane's upstream: the embedded engine's ``n_ctx`` and
``max_output_tokens``, or the genai-prices dataset's context window for the upstream model at the
provider its base URL names. Otherwise unknown (None): the client keeps its own default.
"""

from __future__ import annotations

from dataclasses import dataclass

from splitlane.config import Config, ModelConfig
from splitlane.core.lanes import Lane
from splitlane.model_data import find_model
from splitlane.routing.planner import lane_target


@dataclass(frozen=True, slots=True)
class Limits:
    context_window: int | None = None
    max_output_tokens: int | None = None
    source: str = "unknown"


def upstream_limits(config: Config, label: str) -> Limits:
    """What the ``upstream/model`` a lane goes to accepts, as far as the gateway knows."""
    name, model = label.split("/", 1)
    upstream = config.upstreams[name]
    if upstream.kind == "local":
        return Limits(upstream.n_ctx, upstream.max_output_tokens, f"upstream {name}: n_ctx")
    if upstream.kind == "sim":
        return Limits()
    found = find_model(model, upstream.base_url)
    if found is None or found[1].context_window is None:
        return Limits()
    return Limits(found[1].context_window, None, f"dataset:{found[0].id}/{found[1].id}")


def lane_limits(config: Config, alias: str, lane: Lane) -> Limits:
    model = config.models[alias]
    if model.alias is not None and model.lane is not None:  # a per-mode name: its alias's lane
        return lane_limits(config, model.alias, Lane(model.lane))
    own = next((v for name, v in model.lane_limits.items() if name == lane), None)
    window = (own.context_window if own else None) or model.context_window
    output = (own.max_output_tokens if own else None) or model.max_output_tokens
    if window is not None and output is not None:
        return Limits(window, output, f"models.{alias}")
    found = upstream_limits(config, lane_target(alias, model, lane))
    return Limits(
        window or found.context_window,
        output or found.max_output_tokens,
        f"models.{alias}" if window or output else found.source,
    )


def _lanes(model: ModelConfig) -> tuple[Lane, ...]:
    if model.alias is not None and model.lane is not None:
        return (Lane(model.lane),)
    return (Lane.PLAN, Lane.ACT, Lane.BACKGROUND) if model.lanes else (Lane.ACT,)


def serves_tool_search(config: Config, alias: str) -> bool:
    """Whether every lane of the alias goes to an Anthropic upstream: only Anthropic's API expands
    the ``tool_reference`` blocks of Claude Code's tool search into the deferred tools' schemas."""
    model = config.models[alias]
    if model.alias is not None:
        return serves_tool_search(config, model.alias)
    labels = [lane_target(alias, model, lane) for lane in _lanes(model)]
    return all(config.upstreams[label.split("/", 1)[0]].kind == "anthropic" for label in labels)


def alias_limits(config: Config, alias: str) -> Limits:
    """The smallest window and output limit of the alias's lanes (each known one)."""
    found = [lane_limits(config, alias, lane) for lane in _lanes(config.models[alias])]
    windows = [f.context_window for f in found if f.context_window is not None]
    outputs = [f.max_output_tokens for f in found if f.max_output_tokens is not None]
    sources = sorted({f.source for f in found if f.source != "unknown"})
    return Limits(min(windows, default=None), min(outputs, default=None), ", ".join(sources) or "unknown")
