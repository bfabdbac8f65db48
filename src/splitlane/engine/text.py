"""Bytes of tokens -> text pieces: whole UTF-8 characters only, holding back possible stop strings."""

from __future__ import annotations

import codecs


class TextStream:
    """Feed token bytes; get text that is safe to show. Stops at the first stop string."""

    def __init__(self, stops: tuple[str, ...]) -> None:
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._stops = tuple(s for s in stops if s)
        self._held = ""
        self.stopped_by: str | None = None

    def feed(self, data: bytes) -> str:
        if self.stopped_by is not None:
            return ""
        self._held += self._decoder.decode(data)
        for stop in self._stops:
            at = self._held.find(stop)
            if at >= 0:
                self.stopped_by = stop
                out, self._held = self._held[:at], ""
                return out
        keep = max((self._overlap(stop) for stop in self._stops), default=0)
        out, self._held = self._held[: len(self._held) - keep], self._held[len(self._held) - keep :]
        return out

    def _overlap(self, stop: str) -> int:
        """Length of the longest tail of held text that is a proper prefix of ``stop``."""
        for n in range(min(len(stop) - 1, len(self._held)), 0, -1):
            if self._held.endswith(stop[:n]):
                return n
        return 0

    def flush(self) -> str:
        if self.stopped_by is not None:
            return ""
        out, self._held = self._held + self._decoder.decode(b"", final=True), ""
        return out
