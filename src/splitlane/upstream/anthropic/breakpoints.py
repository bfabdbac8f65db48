"""Prompt-cache breakpoints for a request whose client could not mark any (it came in on the Chat
or Responses surface): Anthropic caches only prefixes that end at a ``cache_control`` mark, so
without them every turn of an agent session pays its whole context at the full input price.

Placed as Claude Code places its own: the last tool, the last system block, and a rolling pair
on the conversation — the end of the latest message (this turn writes its prefix) and the end of
the previous user turn (where the last turn's entry ends, so it is read even when this turn added
more than the 20 blocks Anthropic looks back from a mark). Never more than Anthropic's 4.
"""

from __future__ import annotations

from typing import Any

MAX_BREAKPOINTS = 4
UNMARKABLE = ("thinking", "redacted_thinking")  # Anthropic refuses cache_control on these


def _mark(block: dict[str, Any], ttl: str | None) -> None:
    block["cache_control"] = {"type": "ephemeral", **({"ttl": ttl} if ttl else {})}


def _last_markable(content: list[dict[str, Any]]) -> dict[str, Any] | None:
    for block in reversed(content):
        if (
            isinstance(block, dict)
            and block.get("type") not in UNMARKABLE
            and (block.get("type") != "text" or block.get("text"))
        ):
            found: dict[str, Any] = block
            return found
    return None


def _blocks(message: dict[str, Any]) -> list[dict[str, Any]]:
    """The message's content as a list of blocks (a string becomes one text block)."""
    content = message.get("content")
    if isinstance(content, str):
        message["content"] = content = [{"type": "text", "text": content}] if content else []
    return content if isinstance(content, list) else []


def add_breakpoints(body: dict[str, Any], ttl: str | None = None) -> int:
    """Mark ``body`` (an Anthropic request with none) in place; returns how many marks it got."""
    targets: list[dict[str, Any]] = []
    tools = body.get("tools") or []
    if tools:
        targets.append(tools[-1])
    system = body.get("system")
    if isinstance(system, str) and system:
        body["system"] = system = [{"type": "text", "text": system}]
    if isinstance(system, list) and system:
        targets.append(system[-1])
    messages = body.get("messages") or []
    users = [i for i, m in enumerate(messages) if m.get("role") == "user"]
    positions = [len(messages) - 1] if messages else []
    if len(users) >= 2 and users[-2] != len(messages) - 1:
        positions.append(users[-2])
    for position in positions:
        block = _last_markable(_blocks(messages[position]))
        if block is not None:
            targets.append(block)
    for block in targets[:MAX_BREAKPOINTS]:
        _mark(block, ttl)
    return min(len(targets), MAX_BREAKPOINTS)
