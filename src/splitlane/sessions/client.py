"""Which agent or SDK sent a request, from its headers (for grouping telemetry by client)."""

from __future__ import annotations

from collections.abc import Mapping

# (substring of the lower-cased User-Agent or originator, client name), most specific first
_KNOWN = (
    ("codex", "codex"),
    ("claude-cli", "claude-code"),
    ("claude-code", "claude-code"),
    ("opencode", "opencode"),
    ("cline", "cline"),
    ("anthropic/python", "anthropic-python"),
    ("anthropic/js", "anthropic-js"),
    ("openai/python", "openai-python"),
    ("openai/js", "openai-js"),
    ("python-httpx", "httpx"),
    ("curl", "curl"),
)


def client_name(headers: Mapping[str, str]) -> str:
    said = " ".join((headers.get("originator", ""), headers.get("user-agent", ""))).lower()
    for needle, name in _KNOWN:
        if needle in said:
            return name
    agent = headers.get("user-agent", "").split("/", 1)[0].strip()
    return agent[:60] or "unknown"
