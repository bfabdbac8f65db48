from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from splitlane.engine.text import TextStream


def test_split_utf8_characters_are_held_until_complete() -> None:
    stream = TextStream(())
    data = "héllo ✓".encode()
    out = "".join(stream.feed(data[i : i + 1]) for i in range(len(data))) + stream.flush()
    assert out == "héllo ✓"


def test_stop_string_across_pieces_is_never_shown() -> None:
    stream = TextStream(("</end>",))
    shown = [stream.feed(p.encode()) for p in ("abc</", "en", "d>tail")]
    assert "".join(shown) == "abc"
    assert stream.stopped_by == "</end>"
    assert shown[0] == "abc"
    assert stream.flush() == ""


def test_text_that_only_looks_like_a_stop_is_released() -> None:
    stream = TextStream(("STOP",))
    assert stream.feed(b"ST") == ""
    assert stream.feed(b"ART") == "START"
    assert stream.stopped_by is None


@given(st.text(), st.text(min_size=1, max_size=4), st.integers(min_value=1, max_value=7))
def test_output_is_the_text_before_the_first_stop(text: str, stop: str, size: int) -> None:
    stream = TextStream((stop,))
    data = text.encode()
    out = "".join(stream.feed(data[i : i + size]) for i in range(0, len(data), size)) + stream.flush()
    expected = text[: text.index(stop)] if stop in text else text
    assert out == expected
