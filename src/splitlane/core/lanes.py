"""The lanes a turn can be put in (routing decides; sessions and telemetry record it)."""

from __future__ import annotations

from enum import StrEnum


class Lane(StrEnum):
    PLAN = "plan"
    ACT = "act"
    BACKGROUND = "background"
