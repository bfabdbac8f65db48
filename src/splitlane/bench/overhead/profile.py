"""Reading a py-spy profile: the raw (collapsed) stacks ``py-spy record --format raw`` writes, one
``frame;frame;…;leaf count`` line per distinct stack, summed into the functions that cost most."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass

from rich.table import Table

_FRAME = re.compile(r"^(?P<func>.*?) \((?P<file>[^()]*?)(?::\d+)?\)$")


@dataclass(frozen=True, slots=True)
class Cost:
    function: str  # "name (module path)"
    own: float  # share of samples with it at the top of the stack
    total: float  # share of samples with it anywhere on the stack


def _function(frame: str) -> str:
    """``name (path/to/file.py:123)`` -> ``name (to/file.py)``: one entry per function, not per line."""
    match = _FRAME.match(frame.strip())
    if not match:
        return frame.strip()
    path = match["file"]
    short = "/".join(path.split("/")[-2:]) if "site-packages" in path or "/" in path else path
    return f"{match['func']} ({short})"


def costs(raw: str) -> list[Cost]:
    """Functions by own time (descending), with their inclusive time."""
    own: Counter[str] = Counter()
    total: Counter[str] = Counter()
    samples = 0
    for line in raw.splitlines():
        stack, _, count = line.rstrip().rpartition(" ")
        if not stack or not count.isdigit():
            continue
        n = int(count)
        samples += n
        frames = [_function(f) for f in stack.split(";") if f]
        if frames:
            own[frames[-1]] += n
        for name in set(frames):
            total[name] += n
    if not samples:
        return []
    return [Cost(name, n / samples, total[name] / samples) for name, n in own.most_common()]


def top_costs(raw: str, n: int) -> Table:
    table = Table(title=f"py-spy: top {n} functions by own time")
    table.add_column("function")
    table.add_column("own", justify="right")
    table.add_column("incl.", justify="right")
    for cost in costs(raw)[:n]:
        table.add_row(cost.function, f"{cost.own:.1%}", f"{cost.total:.1%}")
    return table
