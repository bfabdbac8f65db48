"""What the clients themselves say about the turn: plan-mode markers and background work.

Markers are read from the end of the conversation: the latest one decides (reminders persist in
older turns). Which markers each client writes (Codex, Claude Code, Cline legacy and SDK,
OpenCode): docs/routing.md, "How a turn is classified". Matching is case-insensitive on several
variants, since prompt texts change between client versions.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from splitlane.core.lanes import Lane
from splitlane.core.parts import Message, Role, TextPart, ToolResultPart
from splitlane.core.request import ChatRequest


@dataclass(frozen=True, slots=True)
class Marker:
    lane: Lane
    name: str
    pattern: re.Pattern[str]
    needles: tuple[str, ...]  # lower-case; the pattern can match only where one of them occurs

    def search(self, text: str, lowered: str) -> re.Match[str] | None:
        return self.pattern.search(text) if any(n in lowered for n in self.needles) else None

    def finditer(self, text: str, lowered: str) -> list[re.Match[str]]:
        return list(self.pattern.finditer(text)) if any(n in lowered for n in self.needles) else []


def _m(lane: Lane, name: str, pattern: str, *needles: str) -> Marker:
    """A marker; ``needles`` are literal substrings, one of which any match contains: most prompts
    hold none, and a substring test is what keeps classifying a 100K-token prompt cheap."""
    return Marker(lane, name, re.compile(pattern, re.IGNORECASE | re.DOTALL), needles)


MODE_MARKERS = (
    # Codex collaboration modes (developer message; the last block wins)
    _m(
        Lane.PLAN,
        "codex <collaboration_mode> Plan",
        r"<collaboration_mode>\s*(?:# Plan Mode|# Collaboration Mode: Plan)",
        "<collaboration_mode>",
    ),
    _m(
        Lane.ACT,
        "codex <collaboration_mode> Default",
        r"<collaboration_mode>\s*# Collaboration Mode: Default",
        "<collaboration_mode>",
    ),
    # Claude Code plan-mode reminders, exit and plan approval
    _m(
        Lane.PLAN,
        "claude-code plan mode is active",
        r"Plan mode is active\.|## Plan File Info:|## Re-entering Plan Mode",
        "plan mode is active",
        "## plan file info:",
        "## re-entering plan mode",
    ),
    _m(Lane.ACT, "claude-code exited plan mode", r"## Exited Plan Mode|You have exited plan mode", "exited plan mode"),
    _m(Lane.ACT, "claude-code plan approved", r"User has approved your plan", "user has approved your plan"),
    # Cline (legacy extension): environment_details mode line
    _m(Lane.PLAN, "cline # Current Mode PLAN MODE", r"# Current Mode\s*\n\s*PLAN MODE", "# current mode"),
    _m(Lane.ACT, "cline # Current Mode ACT MODE", r"# Current Mode\s*\n\s*ACT MODE", "# current mode"),
    # Cline (SDK): user input wrapper and mode switch notice
    _m(Lane.PLAN, 'cline <user_input mode="plan">', r'<user_input mode="plan">', '<user_input mode="plan">'),
    _m(Lane.ACT, 'cline <user_input mode="act">', r'<user_input mode="(?:act|yolo)">', "<user_input mode="),
    _m(
        Lane.ACT,
        "cline mode notice plan->act",
        r"<mode_notice>[^<]*switched from plan mode to act mode",
        "<mode_notice>",
    ),
    _m(
        Lane.PLAN,
        "cline mode notice act->plan",
        r"<mode_notice>[^<]*switched from act mode to plan mode",
        "<mode_notice>",
    ),
    # OpenCode reminders
    _m(
        Lane.PLAN,
        "opencode plan reminder",
        r"<system-reminder>.*?(?:Plan Mode - System Reminder|Plan mode ACTIVE|Plan mode is active)",
        "<system-reminder>",
    ),
    _m(
        Lane.ACT,
        "opencode switched to build",
        r"operational mode has changed from plan to build|Plan mode has ended",
        "operational mode has changed from plan to build",
        "plan mode has ended",
    ),
)

# System-prompt markers (Cline SDK states plan mode only in the system prompt while it is on).
SYSTEM_MARKERS = (
    _m(
        Lane.PLAN, "cline system prompt # Plan Mode", r"# Plan Mode\s.*?You are in Plan mode\.", "you are in plan mode."
    ),
)

BACKGROUND_MARKERS = (
    _m(
        Lane.BACKGROUND,
        "title request",
        r"Generate a title for this conversation|write a \d+-\d+ word title|"
        r"generate a (?:concise |short )?title",
        "title",
    ),
    _m(
        Lane.BACKGROUND,
        "summary/compaction request",
        r"Summarize (?:this|the) (?:coding )?conversation|"
        r"create a detailed summary of the conversation|Your task is to create a detailed summary",
        "summar",
    ),
    _m(Lane.BACKGROUND, "warmup request", r"^\s*Warmup\s*$", "warmup"),
    _m(Lane.BACKGROUND, "command safety check", r"<policy_spec>", "<policy_spec>"),
)
BACKGROUND_MODELS = re.compile(r"haiku|small", re.IGNORECASE)


def _texts(message: Message) -> list[str]:
    out: list[str] = []
    for part in message.parts:
        if isinstance(part, TextPart | ToolResultPart):
            out.append(part.text)
    return out


@dataclass(frozen=True, slots=True)
class Found:
    """What one message's text holds: its latest mode marker, its first background marker."""

    mode: Marker | None
    background: Marker | None


class ScanMemo:
    """What a message's text holds, by the text's hash: an agent re-sends every earlier message on
    every turn, so only the turn's new messages are scanned (a 100K-token conversation without a
    marker cost 1.5-3 ms of needle scans per turn, O(context)). Keys are the process's randomised
    64-bit string hash plus the length, values shared; the oldest entries go first past ``size``."""

    def __init__(self, size: int = 50_000) -> None:
        self.size = size
        self._found: dict[tuple[int, int], Found] = {}

    def scan(self, texts: list[str]) -> Found:
        key = (hash(tuple(texts)), sum(map(len, texts)))
        try:
            return self._found[key]
        except KeyError:
            pass
        found = _scan("\n".join(texts))
        if len(self._found) >= self.size:
            del self._found[next(iter(self._found))]
        self._found[key] = found
        return found


MEMO = ScanMemo()
NOTHING = Found(None, None)


def _scan(text: str) -> Found:
    lowered = text.lower()
    best: tuple[int, Marker] | None = None
    for marker in MODE_MARKERS:
        for found in marker.finditer(text, lowered):
            if best is None or found.start() > best[0]:
                best = (found.start(), marker)
    background = next((m for m in BACKGROUND_MARKERS if m.search(text, lowered)), None)
    if best is None and background is None:
        return NOTHING
    return Found(None if best is None else best[1], background)


def latest_mode_marker(request: ChatRequest, memo: ScanMemo = MEMO) -> Marker | None:
    """The last mode marker in the conversation (scanning messages, and text within them, from the end)."""
    for message in reversed(request.messages):
        if message.role is Role.ASSISTANT or (message.role is Role.SYSTEM and message is request.messages[0]):
            continue
        found = memo.scan(_texts(message)).mode
        if found is not None:
            return found
    system = request.messages[0] if request.messages and request.messages[0].role is Role.SYSTEM else None
    if system is not None:
        text = system.text
        lowered = text.lower()
        return next((m for m in SYSTEM_MARKERS if m.search(text, lowered)), None)
    return None


def background_reason(request: ChatRequest, memo: ScanMemo = MEMO) -> str | None:
    subagent = request.headers.get("x-openai-subagent")
    if subagent:
        return f"codex x-openai-subagent: {subagent}"
    if BACKGROUND_MODELS.search(request.model):
        return f"small-model id '{request.model}'"
    if request.tools:
        return None
    last_user = next((m for m in reversed(request.messages) if m.role is Role.USER), None)
    if last_user is None:
        return None
    marker = memo.scan(_texts(last_user)).background
    return f"{marker.name} without tools" if marker else None
