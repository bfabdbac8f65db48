"""The compatibility table of the agent CLI runs: client, version, API, result (``make agents-latest``
and ``make agents-old`` print it for npm's newest and a ~6-month-old release; docs/agents.md keeps
it). Each end-to-end test names its client and the API it exercises with ``@pytest.mark.agent``."""

from __future__ import annotations

import os
import subprocess
from functools import cache
from pathlib import Path
from typing import Any

import pytest

BIN = Path(os.environ.get("SPLITLANE_AGENTS_BIN", Path(__file__).parents[2] / ".agents" / "node_modules" / ".bin"))
COMMANDS = {"codex": "codex", "claude-code": "claude", "opencode": "opencode", "qwen-code": "qwen"}
RESULTS: dict[str, dict[str, str]] = {}


@cache
def version(client: str) -> str:
    try:
        done = subprocess.run(
            [str(BIN / COMMANDS[client]), "--version"], capture_output=True, text=True, timeout=30, check=False
        )
    except OSError:
        return "not installed"
    return done.stdout.strip().split()[-1 if client == "codex" else 0] if done.returncode == 0 else "?"


def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[Any]) -> None:
    marker = item.get_closest_marker("agent")
    if marker is None:
        return
    client, api = marker.args
    callspec = getattr(item, "callspec", None)
    if callspec is not None:
        api = f"{api} ({callspec.id})"
    row = RESULTS.setdefault(item.nodeid, {"client": client, "api": api, "result": "passed"})
    if call.excinfo is not None:
        if call.excinfo.errisinstance(pytest.xfail.Exception):
            row["result"] = f"known failure: {call.excinfo.value}"
        elif call.excinfo.errisinstance(pytest.skip.Exception):
            row["result"] = "skipped"
        else:
            row["result"] = f"FAILED ({call.when})"


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not RESULTS:
        return
    rows = [(r["client"], version(r["client"]), r["api"], r["result"]) for r in RESULTS.values()]
    lines = ["| client | version | API | result |", "|---|---|---|---|"]
    lines += [f"| {' | '.join(row)} |" for row in rows]
    terminalreporter.write_sep("-", f"agent CLI compatibility ({BIN})")
    for line in lines:
        terminalreporter.write_line(line)
    table = os.environ.get("SPLITLANE_AGENTS_TABLE")
    if table:
        Path(table).write_text("\n".join(lines) + "\n", encoding="utf-8")
