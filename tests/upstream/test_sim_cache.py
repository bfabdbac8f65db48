"""The simulator's prompt cache: Anthropic's explicit breakpoints and OpenAI's automatic prefixes."""

from __future__ import annotations

from splitlane.core.parts import CacheHint, Message, Role, TextPart
from splitlane.core.request import ChatRequest
from splitlane.upstream.sim.cache import LOOKBACK_BLOCKS, PromptCache, blocks

MARK = CacheHint()


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def cache() -> tuple[PromptCache, Clock]:
    clock = Clock()
    prompts = PromptCache()
    prompts._now = clock
    return prompts, clock


def request(*texts: str, marks: tuple[int, ...] = (), ttl: str | None = None) -> ChatRequest:
    """One user message per text; ``marks``: which carry a breakpoint."""
    hint = CacheHint(ttl)
    messages = tuple(Message(Role.USER, (TextPart(t * 50, hint if i in marks else None),)) for i, t in enumerate(texts))
    return ChatRequest(model="m", messages=messages)


def test_without_a_breakpoint_nothing_is_cached() -> None:
    prompts, _ = cache()
    assert prompts.explicit(request("a", "b")).read_tokens == 0
    assert prompts.explicit(request("a", "b")).read_tokens == 0


def test_a_breakpoint_writes_its_prefix_and_the_next_turn_reads_it() -> None:
    prompts, _ = cache()
    first = prompts.explicit(request("a", "b", marks=(1,)))
    chain = blocks(request("a", "b"))
    assert first.read_tokens == 0
    assert first.write_tokens == chain[-1].end_tokens
    # the next turn: the same prefix, one more message, the mark moved to the end
    second = prompts.explicit(request("a", "b", "c", marks=(2,)))
    assert second.read_tokens == chain[-1].end_tokens  # found 1 block back from the new mark
    assert second.write_tokens == blocks(request("a", "b", "c"))[-1].end_tokens - chain[-1].end_tokens


def test_the_lookback_is_twenty_blocks() -> None:
    prompts, _ = cache()
    prompts.explicit(request("a", marks=(0,)))
    near = ["a", *[f"n{i}" for i in range(LOOKBACK_BLOCKS)]]  # the cached block is 20 back from the mark
    assert prompts.explicit(request(*near, marks=(len(near) - 1,))).read_tokens > 0
    prompts, _ = cache()
    prompts.explicit(request("a", marks=(0,)))
    far = ["a", *[f"n{i}" for i in range(LOOKBACK_BLOCKS + 1)]]
    assert prompts.explicit(request(*far, marks=(len(far) - 1,))).read_tokens == 0


def test_entries_expire_after_their_ttl_and_a_read_refreshes_them() -> None:
    prompts, clock = cache()
    prompts.explicit(request("a", marks=(0,)))
    clock.now += 299
    assert prompts.explicit(request("a", marks=(0,))).read_tokens > 0  # read at 299 s: refreshed
    clock.now += 299
    assert prompts.explicit(request("a", marks=(0,))).read_tokens > 0
    clock.now += 301
    assert prompts.explicit(request("a", marks=(0,))).read_tokens == 0  # 5 minutes unread: gone
    prompts.explicit(request("b", marks=(0,), ttl="1h"))
    clock.now += 3000
    assert prompts.explicit(request("b", marks=(0,), ttl="1h")).read_tokens > 0


def test_automatic_caching_reads_the_common_prefix_per_key() -> None:
    prompts, _ = cache()
    assert prompts.automatic(request("a", "b"), "k1").read_tokens == 0
    common = blocks(request("a", "b"))[-1].end_tokens
    assert prompts.automatic(request("a", "b", "c"), "k1").read_tokens == common
    assert prompts.automatic(request("a", "b", "c"), "k2").read_tokens == 0  # another key, another cache
    assert prompts.automatic(request("a", "x", "c"), "k1").read_tokens == blocks(request("a"))[-1].end_tokens


def test_the_mark_itself_is_not_part_of_the_prefix() -> None:
    marked, plain = blocks(request("a", marks=(0,))), blocks(request("a"))
    assert marked[0].digest == plain[0].digest
