"""The three engine workloads, as rendered prompts (the same text reaches every target).

W1: a real SWE-agent session replayed turn by turn (recorded history; max tokens = recorded size).
W2: "rewrite this file with one change" over source files of ~1-2K tokens (the reply copies).
W3: free text with nothing to copy.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from splitlane.bench.convert import swe_agent
from splitlane.bench.trace import history_at
from splitlane.engine import templates

SHARED_DATA = Path(os.environ.get("SPLITLANE_SHARED_DATA", Path(__file__).parents[5] / "shared" / "data"))
W1_TRACE = SHARED_DATA / "trajectories" / "swe-agent-pydicom-1458.traj"
W2_FILES = ("engine/text.py", "engine/toolcalls.py", "engine/speculation.py")
W3_PROMPTS = (
    "Write a short story about a lighthouse keeper who finds a message in a bottle.",
    "Describe, as a travel writer would, a morning market in a coastal town.",
    "Explain to a child why the sky changes colour at sunset.",
)


@dataclass(frozen=True, slots=True)
class Request:
    prompt: str  # rendered with the model's chat template, <bos> included
    max_tokens: int


@dataclass(frozen=True, slots=True)
class Session:
    name: str
    requests: tuple[Request, ...]


Render = Callable[[list[dict[str, str]]], str]


def renderer(metadata: Mapping[str, str]) -> Render:
    return lambda turns: templates.render(metadata, list(turns))


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(str(p.get("text", "")) if isinstance(p, dict) else str(p) for p in content)
    return json.dumps(content)


def _turns(messages: list[dict[str, Any]]) -> list[dict[str, str]]:
    """Chat messages -> strictly alternating user/assistant turns (system folded into the first)."""
    out: list[dict[str, str]] = []
    for message in messages:
        role = "assistant" if message.get("role") == "assistant" else "user"
        text = _text(message.get("content"))
        for call in message.get("tool_calls") or []:
            text += "\n" + json.dumps(call.get("function", call))
        if out and out[-1]["role"] == role:
            out[-1]["content"] += "\n\n" + text
        else:
            if not out and role == "assistant":
                out.append({"role": "user", "content": ""})
            out.append({"role": role, "content": text})
    return out


def w1(render: Render, trace: Path = W1_TRACE, turns: int | None = None, marker: str = "") -> Session:
    """The recorded session; ``marker`` goes at the head of the task statement (the last initial
    message), so copies of the session share the system prompt and demonstration, as concurrent
    SWE-agent runs on different issues do, and differ from the task on."""
    _, [session] = swe_agent.convert(trace)
    if marker:
        initial = [dict(m) for m in session.header.initial_messages]
        initial[-1]["content"] = f"[{marker}] " + _text(initial[-1].get("content"))
        session = session.model_copy(update={"header": session.header.model_copy(update={"initial_messages": initial})})
    count = len(session.turns) if turns is None else min(turns, len(session.turns))
    requests = tuple(
        Request(render(_turns(history_at(session, i))), max(1, session.turns[i].output.completion_tokens))
        for i in range(count)
    )
    return Session(f"W1 {trace.stem}{f' {marker}' if marker else ''}", requests)


def w2(render: Render, max_tokens: int = 512) -> list[Session]:
    root = Path(__file__).parents[2]
    out = []
    for name in W2_FILES:
        source = (root / name).read_text()
        prompt = (
            f"Here is the file {name}:\n\n```python\n{source}\n```\n\n"
            "Rewrite the whole file with one change: rename the first class. Reply with the complete file only."
        )
        out.append(Session(f"W2 {name}", (Request(render([{"role": "user", "content": prompt}]), max_tokens),)))
    return out


def w3(render: Render, max_tokens: int = 256) -> list[Session]:
    return [
        Session(f"W3 #{i + 1}", (Request(render([{"role": "user", "content": p}]), max_tokens),))
        for i, p in enumerate(W3_PROMPTS)
    ]
