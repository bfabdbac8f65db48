"""The decision that puts a turn in a lane, with its reason."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from splitlane.core.lanes import Lane


class Source(StrEnum):
    """How strong the signal behind a decision was, strongest first."""

    EXPLICIT = "explicit"
    RULE = "rule"
    BACKGROUND = "background"
    MARKER = "marker"
    SESSION = "session"
    DEFAULT = "default"


@dataclass(frozen=True, slots=True)
class Decision:
    lane: Lane
    source: Source
    reason: str

    def __str__(self) -> str:
        return f"{self.source}: {self.reason}"
