"""What each replayed turn sends: the conversation so far, built from a trace session (replay rules
1–3 of TRACES.md), with a per-session marker at the start so sessions and runs never share a cache.

Messages are Chat Completions dicts, the trace's own format. ``synthetic`` sessions get filler text
of the recorded sizes: words of four characters that are one token in common tokenizers and under
the chars/4 estimate, drawn from a generator seeded by session and turn, so every target receives
exactly the same bytes.
"""

from __future__ import annotations

import random
from typing import Any

from splitlane.bench.trace import Session, TurnLine
from splitlane.upstream.estimate import CHARS_PER_TOKEN, TOKENS_PER_MESSAGE

_WORDS = "the and for are but not you all any can had her was one our out day get has him his how man new now old"
WORDS = tuple(f" {w}" for w in (_WORDS + " see two way who boy did its let put say she too use").split())
Message = dict[str, Any]
PLAN_REMINDER = (
    "<system-reminder>\nPlan mode is active. The user indicated that they do not want you to execute yet -- "
    "you MUST NOT make any edits, run any non-readonly tools, or otherwise make any changes to the system.\n"
    "</system-reminder>\n"
)
PLAN_EXITED = (
    "<system-reminder>\n## Exited Plan Mode\n\nYou have exited plan mode. You can now make edits.\n</system-reminder>\n"
)


def filler(seed: str, tokens: int) -> str:
    rng = random.Random(seed)
    return "".join(rng.choices(WORDS, k=max(0, tokens)))


def _tokens(message: Message) -> int:
    content = message.get("content")
    size = len(content) if isinstance(content, str) else len(str(content or ""))
    return TOKENS_PER_MESSAGE + size // CHARS_PER_TOKEN


def estimated_tokens(messages: list[Message]) -> int:
    """The estimate of messages' size (about four characters a token) where nothing counted them."""
    return sum(_tokens(m) for m in messages)


def _with_marker(messages: list[Message], marker: str) -> list[Message]:
    tag = f"[session {marker}]\n"
    if messages and messages[0].get("role") in ("system", "developer"):
        first = dict(messages[0])
        content = first.get("content")
        if isinstance(content, list):
            first["content"] = [{"type": "text", "text": tag}, *content]
        else:
            first["content"] = tag + (content or "")
        return [first, *messages[1:]]
    return [{"role": "system", "content": tag.strip()}, *messages]


class Conversation:
    """The growing prompt of one session as it is replayed; ``prompt(i)`` then ``answer(i, msg)``."""

    def __init__(self, session: Session, marker: str, token_scale: float = 1.0, namespace: str = "") -> None:
        self.session = session
        self.namespace = namespace  # what hashed blocks are seeded by: one per run and target
        self.scale = token_scale if session.header.content_mode == "synthetic" else 1.0
        self.synthetic = session.header.content_mode == "synthetic"
        self._marker = marker
        self._opening = _with_marker(list(session.header.initial_messages), marker)
        self.history: list[Message] = list(self._opening)
        self._tokens = estimated_tokens(self.history)
        self._live_ids: dict[str, str] = {}  # recorded tool-call id -> the live reply's id
        self.diverged = 0  # live replies whose tool calls could not stand in for the recorded ones

    def _append(self, message: Message) -> None:
        self.history.append(message)
        self._tokens += _tokens(message)

    def _reset(self) -> None:
        self.history = list(self._opening)
        self._tokens = estimated_tokens(self.history)

    def prompt(self, index: int) -> list[Message]:
        turn = self.session.turns[index]
        if self.synthetic:
            self._synthetic_delta(index, turn)
        else:
            delta = list(turn.input.delta_messages)
            if turn.input.replace_history:  # compaction: the new history is this session's too
                self.history, self._tokens = [], 0
                delta = _with_marker(delta, self._marker)
            for message in delta:
                call_id = message.get("tool_call_id")
                if call_id in self._live_ids:
                    message = {**message, "tool_call_id": self._live_ids[call_id]}
                self._append(message)
        return list(self.history)

    def _synthetic_delta(self, index: int, turn: TurnLine) -> None:
        if turn.input.hash_ids and self.session.header.block_size:
            self._hashed(turn, self.session.header.block_size)
            return
        target = None if turn.input.prompt_tokens is None else round(turn.input.prompt_tokens * self.scale)
        if turn.input.replace_history or (target is not None and target < self._tokens // 2):
            self._reset()  # compaction: the recorded prompt shrank
        new = target - self._tokens - TOKENS_PER_MESSAGE if target is not None else turn.input.new_tokens or 1
        seed = f"{self.session.header.session_id}:{index}:in"
        marker = self._mode_marker(index, turn)
        self._append({"role": "user", "content": marker + filler(seed, max(1, new - len(marker) // 4)).lstrip()})

    def _hashed(self, turn: TurnLine, block_size: int) -> None:
        """A block-hash turn: the whole prompt from its blocks, each block's filler seeded by its id
        in this run's namespace and nothing per session, so equal ids give equal prefixes across
        sessions (a shared system prompt stays shared) and never across runs."""
        ids = turn.input.hash_ids or []
        size = max(1, round(block_size * self.scale))
        total = round((turn.input.prompt_tokens or len(ids) * block_size) * self.scale)
        last = max(1, total - size * (len(ids) - 1))  # the last block may be partial
        text = "".join(filler(f"{self.namespace}:{h}", size if i < len(ids) - 1 else last) for i, h in enumerate(ids))
        self.history, self._tokens = [], 0
        self._append({"role": "user", "content": text.lstrip()})

    def _mode_marker(self, index: int, turn: TurnLine) -> str:
        """Claude Code's words for its mode: a reminder on every plan-mode turn, the exit notice on the
        first turn after plan mode (the latest marker decides the lane, routing/markers.py)."""
        if turn.input.mode == "plan":
            return PLAN_REMINDER
        previous = self.session.turns[index - 1].input.mode if index else None
        return PLAN_EXITED if turn.input.mode == "act" and previous == "plan" else ""

    def output_tokens(self, index: int) -> int:
        """The recorded reply's length (scaled for synthetic sessions): max tokens for the replay."""
        output = self.session.turns[index].output
        return max(1, round((output.max_tokens or output.completion_tokens) * self.scale))

    def recorded_answer(self, index: int) -> Message:
        turn = self.session.turns[index]
        if self.synthetic or turn.output.message is None:
            text = filler(f"{self.session.header.session_id}:{index}:out", self.output_tokens(index))
            return {"role": "assistant", "content": text.lstrip()}
        return dict(turn.output.message)

    def answer(self, index: int, message: Message | None = None) -> None:
        """Append the assistant's reply of turn ``index`` to the history: the recorded one, or a live
        one (``message``). The trace's tool results follow, so a live reply stands in only when it
        makes as many tool calls as the recorded one (their ids are mapped by position); otherwise
        the recorded reply keeps the conversation valid and the turn counts as diverged."""
        recorded = self.recorded_answer(index)
        if message is None:
            self._append(recorded)
            return
        recorded_calls = recorded.get("tool_calls") or []
        live_calls = message.get("tool_calls") or []
        if len(recorded_calls) != len(live_calls):
            self.diverged += 1
            self._append(recorded)
            return
        self._live_ids.update({r["id"]: c["id"] for r, c in zip(recorded_calls, live_calls, strict=True)})
        self._append(message)

    @property
    def prompt_tokens_estimate(self) -> int:
        return self._tokens
