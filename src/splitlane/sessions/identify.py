"""Which agent session a request belongs to: the client's own id first, else a fingerprint."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from splitlane.core.parts import Role
from splitlane.core.request import ChatRequest

# Header names, in order of preference: Codex, Claude Code, OpenCode (new and provider-scoped).
SESSION_HEADERS = ("session_id", "x-claude-code-session-id", "x-session-affinity", "x-opencode-session")
_CLAUDE_USER_ID = re.compile(r"_session_([0-9a-fA-F-]{8,})")


@dataclass(frozen=True, slots=True)
class SessionId:
    key: str
    source: str  # the header or field it came from, or "fingerprint"


def identify(request: ChatRequest) -> SessionId:
    for name in SESSION_HEADERS:
        value = request.headers.get(name)
        if value:
            return SessionId(f"{name}:{value}", name)
    cache_key = request.extensions.get("prompt_cache_key")
    if isinstance(cache_key, str) and cache_key:
        return SessionId(f"prompt_cache_key:{cache_key}", "prompt_cache_key")
    user_id = request.metadata.get("user_id", "")
    match = _CLAUDE_USER_ID.search(user_id)
    if match:
        return SessionId(f"metadata.user_id:{match.group(1)}", "metadata.user_id")
    return SessionId(f"fingerprint:{fingerprint(request)}", "fingerprint")


def fingerprint(request: ChatRequest) -> str:
    """A hash of the conversation's opening (system prompt and first user message), which every
    later turn of the same conversation re-sends unchanged."""
    digest = hashlib.sha256()
    system = next((m.text for m in request.messages if m.role in (Role.SYSTEM, Role.DEVELOPER)), "")
    first_user = next((m.text for m in request.messages if m.role is Role.USER), "")
    digest.update(system.encode())
    digest.update(b"\x00")
    digest.update(first_user.encode())
    return digest.hexdigest()[:24]
