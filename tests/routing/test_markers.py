"""Each marker's needles (the cheap substring test in front of its regex) never hide a match; the
scan memo gives what a full scan gives, scanning each message once."""

from __future__ import annotations

import pytest

from splitlane.core.parts import Message, Role, TextPart, ToolResultPart
from splitlane.core.request import ChatRequest
from splitlane.routing import markers
from splitlane.routing.markers import BACKGROUND_MARKERS, MODE_MARKERS, SYSTEM_MARKERS, Marker, ScanMemo

# One text per marker that its pattern matches (from the client prompts in PROTOCOLS.md §4).
SAMPLES = {
    "codex <collaboration_mode> Plan": "<collaboration_mode>\n# Plan Mode (Conversational)",
    "codex <collaboration_mode> Default": "<collaboration_mode># Collaboration Mode: Default\n",
    "claude-code plan mode is active": "<system-reminder>\nPlan mode is active. The user indicated",
    "claude-code exited plan mode": "## Exited Plan Mode\n\nYou have exited plan mode.",
    "claude-code plan approved": "User has approved your plan. You can now start coding.",
    "cline # Current Mode PLAN MODE": "<environment_details>\n# Current Mode\nPLAN MODE\n",
    "cline # Current Mode ACT MODE": "# Current Mode\n  ACT MODE",
    'cline <user_input mode="plan">': '<user_input mode="plan">look around</user_input>',
    'cline <user_input mode="act">': '<user_input mode="yolo">do it</user_input>',
    "cline mode notice plan->act": "<mode_notice>The user switched from plan mode to act mode.</mode_notice>",
    "cline mode notice act->plan": "<mode_notice>User switched from act mode to plan mode</mode_notice>",
    "opencode plan reminder": "<system-reminder>\n# Plan Mode - System Reminder\nCRITICAL",
    "opencode switched to build": "Your operational mode has changed from plan to build.",
    "cline system prompt # Plan Mode": "# Plan Mode\nSome rules.\nYou are in Plan mode. Explore first.",
    "title request": "Generate a title for this conversation.",
    "summary/compaction request": "Your task is to create a detailed summary of the conversation so far",
    "warmup request": "  Warmup\n",
    "command safety check": "<policy_spec>never rm -rf</policy_spec>",
}
ALL = (*MODE_MARKERS, *SYSTEM_MARKERS, *BACKGROUND_MARKERS)


def test_every_marker_has_a_sample() -> None:
    assert {m.name for m in ALL} == set(SAMPLES)


@pytest.mark.parametrize("marker", ALL, ids=lambda m: m.name)
@pytest.mark.parametrize("case", [str, str.upper, str.swapcase])
def test_needles_pass_every_match(marker: Marker, case: object) -> None:
    assert callable(case)
    sample = case(SAMPLES[marker.name])
    text = sample if marker.pattern.pattern.startswith("^") else f"some words before\n{sample}\nand after"
    assert marker.pattern.search(text), "the sample must match the pattern"
    assert marker.search(text, text.lower()) is not None
    assert len(marker.finditer(text, text.lower())) >= 1


def test_text_without_needles_skips_the_regex() -> None:
    text = "an ordinary coding prompt about plans and modes " * 2000
    assert all(m.search(text, text.lower()) is None for m in ALL)


def _conversation(*tool_results: str) -> ChatRequest:
    messages = [Message(Role.SYSTEM, (TextPart("You are a coding agent."),)), Message(Role.USER, (TextPart("go"),))]
    for i, text in enumerate(tool_results):
        messages.append(
            Message(Role.USER, (ToolResultPart(f"c{i}", (TextPart(text),)), TextPart("<system-reminder>ok")))
        )
    return ChatRequest("m", tuple(messages))


def test_the_memo_scans_each_message_once_and_agrees_with_a_full_scan(monkeypatch: pytest.MonkeyPatch) -> None:
    scanned: list[str] = []
    scan = markers._scan

    def counting(text: str) -> markers.Found:
        scanned.append(text)
        return scan(text)

    monkeypatch.setattr(markers, "_scan", counting)
    memo = ScanMemo()
    files = [f"def f{i}():\n    return {i}\n" * 50 for i in range(5)]
    turns = [
        _conversation(*files[:2]),
        _conversation(*files[:2], SAMPLES["claude-code plan mode is active"]),  # a marker arrives
        _conversation(*files[:2], SAMPLES["claude-code plan mode is active"], *files[2:]),  # it persists
        _conversation(
            *files[:2], SAMPLES["claude-code plan mode is active"], *files[2:], SAMPLES["cline # Current Mode ACT MODE"]
        ),
    ]
    found = [markers.latest_mode_marker(turn, memo) for turn in turns]
    # the opening user message and each tool result once; the later turns only their new messages
    assert len(scanned) == 1 + 2 + 1 + 3 + 1
    assert [m.name if m else None for m in found] == [
        None,
        "claude-code plan mode is active",
        "claude-code plan mode is active",
        "cline # Current Mode ACT MODE",
    ]
    assert found == [markers.latest_mode_marker(turn, ScanMemo()) for turn in turns]


def test_the_memo_forgets_its_oldest_entries_past_its_size() -> None:
    memo = ScanMemo(size=2)
    for text in ("one", "two", "three"):
        memo.scan([text])
    assert list(memo._found) == [(hash(("two",)), 3), (hash(("three",)), 5)]


def test_background_work_is_read_from_the_memo_too() -> None:
    memo = ScanMemo()
    title = ChatRequest("m", (Message(Role.USER, (TextPart(SAMPLES["title request"]),)),))
    assert markers.background_reason(title, memo) == "title request without tools"
    assert markers.latest_mode_marker(title, memo) is None
    assert len(memo._found) == 1  # one scan answered both questions
    plain = _conversation("def f(): pass")
    assert markers.background_reason(plain, memo) is None
