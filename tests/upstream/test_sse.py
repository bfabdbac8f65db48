"""The SSE decoder: the same events however the bytes are split across network reads."""

from __future__ import annotations

import itertools

from hypothesis import given
from hypothesis import strategies as st

from splitlane.upstream.sse import ServerSentEvent, SSEDecoder

STREAM = (
    b": keep-alive comment\n\n"
    b'event: message_start\ndata: {"type":"message_start"}\n\n'
    b"data: first line\r\ndata: second line\r\n\r\n"
    b"id: 7\rretry: 1500\rdata:no space\r\r"
    b"event: ping\ndata: \n\n"
    b"data: caf\xc3\xa9 \xe2\x9c\x93\n\n"
    b"data: never finished"
)
EXPECTED = [
    ServerSentEvent("message_start", '{"type":"message_start"}'),
    ServerSentEvent("message", "first line\nsecond line"),
    ServerSentEvent("message", "no space", "7", 1500),
    ServerSentEvent("ping", "", "7"),
    ServerSentEvent("message", "café ✓", "7"),
]


def _decode(chunks: list[bytes]) -> list[ServerSentEvent]:
    decoder = SSEDecoder()
    return [event for chunk in chunks for event in decoder.feed(chunk)]


def test_whole_stream() -> None:
    assert _decode([STREAM]) == EXPECTED


@given(st.lists(st.integers(min_value=0, max_value=len(STREAM)), max_size=12))
def test_any_split_gives_the_same_events(cuts: list[int]) -> None:
    points = [0, *sorted(cuts), len(STREAM)]
    assert _decode([STREAM[a:b] for a, b in itertools.pairwise(points)]) == EXPECTED


def test_byte_by_byte() -> None:
    assert _decode([STREAM[i : i + 1] for i in range(len(STREAM))]) == EXPECTED
