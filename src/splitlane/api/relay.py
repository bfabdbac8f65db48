"""A same-protocol hop's way back: the upstream's own events go to the client as they came.

The stream encoder writes each ``Relay`` frame and nothing of the canonical events (which the
gateway reads for telemetry and the turn's end); a failure still becomes the surface's own
in-stream error event. A whole (non-streamed) answer is the surface's fold of the same events
into its response object (``WireFold``), so that nothing the upstream said is lost there either.
"""

from __future__ import annotations

from typing import Any, Protocol

from splitlane.core.errors import SplitlaneError
from splitlane.core.events import Event, Relay


class Encoder(Protocol):
    def feed(self, event: Event) -> list[bytes]: ...

    def fail(self, error: SplitlaneError) -> list[bytes]: ...


class WireFold(Protocol):
    """Folds a surface's stream events (parsed JSON) into its non-streamed response object."""

    def feed(self, data: Any) -> None: ...

    def result(self) -> dict[str, Any] | None: ...


class RelayEncoder:
    """Writes the upstream's frames; ``errors`` renders a failure as the surface does."""

    def __init__(self, errors: Encoder) -> None:
        self.errors = errors

    def keep(self, relay: Relay) -> bool:
        """Whether the client gets this frame (a surface may hold back what the gateway asked for)."""
        return True

    def feed(self, event: Event) -> list[bytes]:
        if isinstance(event, Relay) and self.keep(event):
            return [event.frame]
        return []

    def fail(self, error: SplitlaneError) -> list[bytes]:
        return self.errors.fail(error)
