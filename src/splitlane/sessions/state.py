"""Per-session routing state, bounded: the least recently seen sessions are forgotten first."""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

from splitlane.core.lanes import Lane


@dataclass(slots=True)
class SessionState:
    lane: Lane | None = None  # the lane the last client marker or explicit choice put it in
    turns: int = 0
    last_marker: str = ""


class SessionStore:
    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self._states: OrderedDict[str, SessionState] = OrderedDict()

    def get(self, key: str) -> SessionState:
        state = self._states.get(key)
        if state is None:
            state = self._states[key] = SessionState()
            while len(self._states) > self.capacity:
                self._states.popitem(last=False)
        else:
            self._states.move_to_end(key)
        return state

    def peek(self, key: str) -> SessionState:
        """The state without creating or refreshing it."""
        return self._states.get(key) or SessionState()
