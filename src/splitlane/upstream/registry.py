"""Builds one upstream adapter from its config."""

from __future__ import annotations

from splitlane.config import Config, UpstreamConfig
from splitlane.upstream.anthropic.adapter import AnthropicUpstream
from splitlane.upstream.base import Upstream
from splitlane.upstream.openai_chat.adapter import OpenAIChatUpstream
from splitlane.upstream.openai_responses.adapter import OpenAIResponsesUpstream


def build_upstream(name: str, upstream: UpstreamConfig, config: Config) -> Upstream:
    match upstream.kind:
        case "openai_chat":
            return OpenAIChatUpstream(name, upstream, config.default_max_tokens)
        case "openai_responses":
            return OpenAIResponsesUpstream(name, upstream, config.default_max_tokens)
        case "anthropic":
            return AnthropicUpstream(name, upstream, config.default_max_tokens)
        case "sim":
            from splitlane.upstream.sim.adapter import SimUpstream

            return SimUpstream(name, upstream, config.default_max_tokens)
        case "local":
            from splitlane.upstream.local.adapter import LocalUpstream  # loads llama.cpp only if used

            return LocalUpstream(name, upstream, config.default_max_tokens)
