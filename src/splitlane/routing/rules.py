"""User-defined routing rules from the config; they run before the built-in classification."""

from __future__ import annotations

from fnmatch import fnmatchcase

from splitlane.config import RuleConfig
from splitlane.core.parts import Role
from splitlane.core.request import ChatRequest
from splitlane.upstream.estimate import estimate_input_tokens


def matches(rule: RuleConfig, request: ChatRequest) -> bool:
    if rule.header is not None:
        name, _, value = rule.header.partition(":")
        present = request.headers.get(name.strip().lower())
        if present is None or (value.strip() and present.strip().lower() != value.strip().lower()):
            return False
    if rule.model is not None and not fnmatchcase(request.model, rule.model):
        return False
    if rule.has_tools is not None and bool(request.tools) != rule.has_tools:
        return False
    if rule.text is not None:
        last_user = next((m.text for m in reversed(request.messages) if m.role is Role.USER), "")
        if rule.text.lower() not in last_user.lower():
            return False
    if rule.min_input_tokens is not None or rule.max_input_tokens is not None:
        tokens = estimate_input_tokens(request)
        if rule.min_input_tokens is not None and tokens < rule.min_input_tokens:
            return False
        if rule.max_input_tokens is not None and tokens > rule.max_input_tokens:
            return False
    return True


def describe(rule: RuleConfig, index: int) -> str:
    return f"rule {rule.name or index}"
