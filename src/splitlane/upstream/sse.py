"""Server-sent events, decoded incrementally from the bytes an upstream streams (the WHATWG
event-stream format: ``\\r\\n``, ``\\r`` or ``\\n`` line ends, ``event``/``data``/``id``/``retry``
fields, ``:`` comments, a blank line ends an event, an unfinished event at the end is dropped).

Our own rather than a library's: the maintained SSE parsers are bound to one HTTP client's
response type (httpx-sse to httpx), and this one sits on the hot path of every streamed chunk,
so it works on whole network reads, not line by line through several generators.
"""

from __future__ import annotations

from typing import NamedTuple


class ServerSentEvent(NamedTuple):  # a tuple: built once per chunk, ~3x cheaper than a frozen dataclass
    event: str = "message"
    data: str = ""
    id: str = ""
    retry: int | None = None


class SSEDecoder:
    """Feed it bytes as they arrive; it returns the events they complete."""

    __slots__ = ("_data", "_event", "_id", "_pending", "_retry", "_started")

    def __init__(self) -> None:
        self._pending = b""
        self._event = ""
        self._data: list[str] = []
        self._id = ""
        self._retry: int | None = None
        self._started = False  # a field was seen since the last dispatch

    def feed(self, chunk: bytes) -> list[ServerSentEvent]:
        buffer = self._pending + chunk if self._pending else chunk
        if b"\r" in buffer:
            held = buffer.endswith(b"\r")  # may be the first half of a \r\n split across reads
            if held:
                buffer = buffer[:-1]
            buffer = buffer.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
            lines = buffer.split(b"\n")
            self._pending = lines.pop() + (b"\r" if held else b"")
        else:
            lines = buffer.split(b"\n")
            self._pending = lines.pop()
        events: list[ServerSentEvent] = []
        for raw in lines:
            if not raw:
                event = self._dispatch()
                if event is not None:
                    events.append(event)
            elif raw[0] != 0x3A:  # ":" starts a comment
                self._field(raw.decode("utf-8", "replace"))
        return events

    def _field(self, line: str) -> None:
        name, colon, value = line.partition(":")
        if colon and value.startswith(" "):
            value = value[1:]
        self._started = True
        if name == "data":
            self._data.append(value)
        elif name == "event":
            self._event = value
        elif name == "id":
            if "\0" not in value:
                self._id = value
        elif name == "retry" and value.isdigit():
            self._retry = int(value)

    def _dispatch(self) -> ServerSentEvent | None:
        if not self._started:
            return None
        event = ServerSentEvent(self._event or "message", "\n".join(self._data), self._id, self._retry)
        self._event, self._data, self._retry, self._started = "", [], None, False
        return event
